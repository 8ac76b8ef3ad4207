package capture

import (
	"github.com/illumera/alignsync/change"

	"context"
	"fmt"
	"testing"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

// TestOrderWithinCompany: one company's changes, across tables within a
// transaction and across transactions, arrive on one partition in commit
// order.
func TestOrderWithinCompany(t *testing.T) {
	env := testenv.New(t)
	startCapture(t, testConfig(t, env)).waitStreaming(t)
	ctx := context.Background()

	companies := []string{"00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c"}
	want := map[string][]string{} // company → "table op" in commit order
	tx := func(stmts ...[3]string) {
		t.Helper()
		tx, err := env.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s[0]); err != nil {
				t.Fatalf("%s: %v", s[0], err)
			}
			want[s[1]] = append(want[s[1]], s[2])
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range companies {
		tx([3]string{fmt.Sprintf(`INSERT INTO companies (id, name) VALUES ('%s', 'c%d')`, c, i), c, "companies c"})
	}
	project := func(c string, n int) string { return fmt.Sprintf("%s0000000%s%04d", c[:24], c[35:], n) }
	for round := 0; round < 10; round++ {
		var stmts [][3]string
		for i, c := range companies {
			p := project(c, round)
			stmts = append(stmts,
				[3]string{fmt.Sprintf(`INSERT INTO projects (id, company_id, title) VALUES ('%s', '%s', 'p%d')`, p, c, round), c, "projects c"},
				[3]string{fmt.Sprintf(`INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks) VALUES ('%s', '%s', 'r', 10, %d)`, p, c, round+1), c, "project_roles c"},
				[3]string{fmt.Sprintf(`UPDATE companies SET name = 'c%d-%d' WHERE id = '%s'`, i, round, c), c, "companies u"})
			if round > 0 {
				stmts = append(stmts, [3]string{fmt.Sprintf(`UPDATE projects SET status = 'open' WHERE id = '%s'`, project(c, round-1)), c, "projects u"})
			}
		}
		tx(stmts...)
	}
	total := 0
	for _, w := range want {
		total += len(w)
	}

	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	got := r.waitChanges(t, 30*time.Second, fmt.Sprintf("%d changes", total), func(cs []consumed) bool { return len(cs) >= total })
	byKey := map[string][]consumed{}
	for _, c := range got {
		byKey[c.Key] = append(byKey[c.Key], c)
	}
	for _, company := range companies {
		checkCompanyOrder(t, company, byKey[company], want[company])
	}
}

func checkCompanyOrder(t *testing.T, company string, got []consumed, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("company %s: %d changes, want %d", company, len(got), len(want))
	}
	for i, c := range got {
		if c.Partition != got[0].Partition {
			t.Errorf("company %s: change %d on partition %d, first on %d", company, i, c.Partition, got[0].Partition)
		}
		if i > 0 {
			prev := got[i-1]
			if c.Offset <= prev.Offset || !idLess(prev.Env, c.Env) {
				t.Errorf("company %s: change %d (%s @%d) not after %s @%d", company, i, c.Env.ID(), c.Offset, prev.Env.ID(), prev.Offset)
			}
		}
		if g := c.Env.Source.Table + " " + c.Env.Op; g != want[i] {
			t.Errorf("company %s: change %d is %q, want %q", company, i, g, want[i])
		}
	}
}

// idLess orders changes by (commit LSN, index): commit order.
func idLess(a, b change.Envelope) bool {
	if a.Source.CommitLSN != b.Source.CommitLSN {
		return a.Source.CommitLSN < b.Source.CommitLSN
	}
	return a.Index < b.Index
}
