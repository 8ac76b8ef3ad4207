package resync

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/internal/testenv"
)

func totalOperations(r Report) int {
	n := 0
	for _, c := range r.Companies {
		for _, v := range c.Operations {
			n += v
		}
	}
	return n
}

func mustRun(t *testing.T, env *testenv.Env, opts Options) Report {
	t.Helper()
	rep, err := Run(context.Background(), env.Pool, opts)
	if err != nil {
		t.Fatalf("resync: %v", err)
	}
	return rep
}

// TestResyncEnqueuesOncePerRowVersion: the rows' operations are recorded in
// the ledger in dependency order; a second run records nothing; a later
// change of a row records its operation; a dry run records nothing.
func TestResyncEnqueuesOncePerRowVersion(t *testing.T) {
	env := testenv.New(t)
	since := time.Now().Add(-time.Second)
	company, _ := connectCompany(t, env, nil, nil)
	talent, project, engagement, entry := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	env.Exec(t, `INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Ada')`, talent, talent[:8]+"@example.com")
	env.Exec(t, `INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Apollo', 'active')`, project, company)
	env.Exec(t, `INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status)
		VALUES ($1, $2, $3, $4, 9000, 'accepted')`, engagement, company, project, talent)
	env.Exec(t, `INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-20', 60, 'submitted')`, entry, company, engagement, project, talent)

	rep := mustRun(t, env, Options{Since: since})
	want := []string{"project.create:" + project, "wiki_page.write:" + project, "user.invite:" + talent,
		"project_member.add:" + engagement, "time_entry.create:" + entry, "time_entry.submit:" + entry}
	if got := outboxKinds(t, env, company); !slices.Equal(got, want) {
		t.Fatalf("outbox after a resync:\n got %v\nwant %v", got, want)
	}
	c := rep.Companies[0]
	if c.Rows["projects"] != 1 || c.Rows["engagements"] != 1 || c.Rows["time_entries"] != 1 || totalOperations(rep) != 6 {
		t.Errorf("report %+v, want one row per table and 6 operations", c)
	}

	if again := mustRun(t, env, Options{Since: since}); totalOperations(again) != 0 {
		t.Errorf("a second resync found %d operations, want none", totalOperations(again))
	}
	if got := outboxKinds(t, env, company); len(got) != len(want) {
		t.Fatalf("a second resync recorded operations: %v", got[len(want):])
	}

	env.Exec(t, `UPDATE projects SET title = 'Apollo 2', updated_at = now() WHERE id = $1`, project)
	dry := mustRun(t, env, Options{Since: since, DryRun: true})
	if totalOperations(dry) != 2 || len(outboxKinds(t, env, company)) != len(want) {
		t.Fatalf("dry run: %d operations due, %d recorded; want 2 due, none recorded", totalOperations(dry), len(outboxKinds(t, env, company))-len(want))
	}
	mustRun(t, env, Options{Since: since})
	// The project is active: its staffing page names it, and follows.
	if got := outboxKinds(t, env, company); !slices.Equal(got[len(want):], []string{"project.update:" + project, "wiki_page.write:" + project}) {
		t.Fatalf("after a rename, resync recorded %v, want the project's update and its staffing page", got[len(want):])
	}
}

// TestResyncScope: only connected companies, never history from before the
// connection, and a company asked for that is not connected is refused.
func TestResyncScope(t *testing.T) {
	env := testenv.New(t)
	since := time.Now().Add(-48 * time.Hour)
	connectedAt := time.Now().Add(-time.Hour)
	company, _ := connectCompany(t, env, nil, &connectedAt)
	old, recent := uuid.NewString(), uuid.NewString()
	env.Exec(t, `INSERT INTO projects (id, company_id, title, status, created_at, updated_at)
		VALUES ($1, $2, 'before the connection', 'open', now() - interval '1 day', now() - interval '1 day')`, old, company)
	env.Exec(t, `INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'after', 'open')`, recent, company)
	gone := uuid.NewString()
	env.Exec(t, `INSERT INTO companies (id, name) VALUES ($1, 'gone')`, gone)
	env.Exec(t, `INSERT INTO align_sync.connections (company_id, status) VALUES ($1, 'disconnected')`, gone)
	env.Exec(t, `INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'not synced', 'open')`, uuid.NewString(), gone)

	rep := mustRun(t, env, Options{Since: since})
	if len(rep.Companies) != 1 || rep.Companies[0].CompanyID != company {
		t.Fatalf("resynced %+v, want only the connected company", rep.Companies)
	}
	if c := rep.Companies[0]; c.Rows["projects"] != 1 || !c.Since.Equal(connectedAt.UTC().Truncate(time.Microsecond)) {
		t.Errorf("company report %+v, want the one project changed since the connection at %s", c, connectedAt.UTC())
	}
	if got := outboxKinds(t, env, company); !slices.Equal(got, []string{"project.create:" + recent}) {
		t.Errorf("outbox %v, want only the project changed after the connection", got)
	}
	_, err := Run(context.Background(), env.Pool, Options{CompanyID: gone, Since: since})
	if err == nil || !strings.Contains(err.Error(), gone) || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("resync of a disconnected company = %v, want a refusal naming it", err)
	}
}
