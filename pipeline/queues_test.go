package pipeline

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/internal/testenv"
)

// partitionOf is the partition capture's balancer gives a company's changes.
func partitionOf(company string, partitions int) int {
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	return kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: []byte(company)}, ps...)
}

// neighbours connects a bulk importer A and a company B whose changes share
// A's partition, each with a project and an accepted engagement synced.
func (w *world) neighbours() (a, b fixture, orgA, orgB alignsim.Org) {
	aID, orgA := w.connectCompany("Bulk importer")
	bID := uuid.NewString()
	for partitionOf(bID, 4) != partitionOf(aID, 4) {
		bID = uuid.NewString()
	}
	orgB = w.connectCompanyID(bID, "Neighbour")
	a, b = w.seedEngaged(aID), w.seedEngaged(bID)
	for _, f := range []fixture{a, b} {
		w.exec(`UPDATE engagements SET status = 'accepted' WHERE id = $1`, f.engagement)
	}
	for _, org := range []alignsim.Org{orgA, orgB} {
		w.waitFor(org, "the member synced", func(s alignsim.State) bool { return len(s.Members) == 1 })
	}
	return a, b, orgA, orgB
}

// connectCompanyID connects a company with a chosen id to a fresh Align org.
func (w *world) connectCompanyID(id, name string) alignsim.Org {
	ctx := w.ctx()
	org, err := w.env.Align.Control.CreateOrg(ctx, name, true)
	if err != nil {
		w.t.Fatal(err)
	}
	w.exec(`INSERT INTO companies (id, name) VALUES ($1, $2)`, id, name)
	if _, err := w.conns.Connect(ctx, id, org.OrgKey); err != nil {
		w.t.Fatalf("connecting %s: %v", name, err)
	}
	return org
}

// burst inserts n draft entries for f in one statement: a timesheet import.
func (w *world) burst(f fixture, n int) {
	w.exec(`INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, description)
		SELECT $1, $2, $3, $4, '2026-11-01'::date + (i % 28), 15 + i % 200, 'imported ' || i
		  FROM generate_series(1, $5::int) AS i`, f.company, f.engagement, f.project, f.talent, n)
}

// trickle inserts n entries for f, one transaction each, and returns their ids.
func (w *world) trickle(f fixture, n int) []string {
	var ids []string
	for i := 0; i < n; i++ {
		id := uuid.NewString()
		w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes)
			VALUES ($1, $2, $3, $4, $5, '2026-12-01', $6)`, id, f.company, f.engagement, f.project, f.talent, 30+i)
		ids = append(ids, id)
	}
	return ids
}

func (w *world) doneEntries(company string) int {
	var n int
	if err := w.env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.outbox
		WHERE company_id = $1 AND op = 'time_entry.create' AND status = 'done'`, company).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// waitEntries waits until the org holds exactly the entries with ids, and
// want entries in all, each once.
func (w *world) waitEntries(org alignsim.Org, what string, want int, ids []string) alignsim.State {
	w.t.Helper()
	st := w.waitFor(org, what, func(s alignsim.State) bool {
		for _, id := range ids {
			if _, ok := entryByExternalID(s, id); !ok {
				return false
			}
		}
		return len(s.TimeEntries) >= want
	})
	seen := map[string]bool{}
	for _, e := range st.TimeEntries {
		if e.ExternalID == nil || seen[*e.ExternalID] {
			w.t.Fatalf("%s: entry %+v is doubled or has no external id", what, e)
		}
		seen[*e.ExternalID] = true
	}
	if len(st.TimeEntries) != want {
		w.t.Fatalf("%s: Align holds %d entries, want %d", what, len(st.TimeEntries), want)
	}
	return st
}

// TestSlowNeighbourDoesNotDelayAnother: A imports a burst that Align's 600
// requests a minute drain over many seconds; B, on the same partition, writes
// during the drain. Every one of B's entries reaches Align while most of A's
// are still waiting: B is delayed by nothing of A's.
func TestSlowNeighbourDoesNotDelayAnother(t *testing.T) {
	w := newWorld(t)
	latency := 20
	if _, err := w.env.Align.Control.SetFaults(w.ctx(), alignsim.Faults{LatencyMs: &latency}); err != nil {
		t.Fatal(err)
	}
	w.runSink(Config{})
	a, b, orgA, orgB := w.neighbours()
	const burst = 200
	w.burst(a, burst)
	w.waitOutbox(a.company, "A's drain begun", func(c map[string]int) bool { return c["done"] > 3 })
	ids := w.trickle(b, 10)
	w.waitEntries(orgB, "B's entries", len(ids), ids)
	if done := w.doneEntries(a.company); done > burst/2 {
		t.Fatalf("A had %d of its %d entries done when B's last arrived: B waited behind A's burst", done, burst)
	}
	w.waitEntries(orgA, "A's burst", burst, nil)
}

// TestKilledInstanceMidDrain: two sink processes share the work; one is
// SIGKILLed while A's burst drains. B, writing after the kill, still
// completes before A, and A completes with nothing doubled or missing.
func TestKilledInstanceMidDrain(t *testing.T) {
	w := newWorld(t)
	bin := testenv.Binary(t)
	var logs testenv.LogBuffer
	sinks := []*exec.Cmd{w.startSinkProcess(t, bin, &logs), w.startSinkProcess(t, bin, &logs)}
	t.Cleanup(func() {
		for _, c := range sinks {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	})
	a, b, orgA, orgB := w.neighbours()
	const burst = 300
	w.burst(a, burst)
	w.waitOutbox(a.company, "A's drain begun", func(c map[string]int) bool { return c["done"] > 5 })
	if err := sinks[0].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = sinks[0].Wait()
	ids := w.trickle(b, 5)
	w.waitEntries(orgB, "B's entries after the kill", len(ids), ids)
	if done := w.doneEntries(a.company); done > burst*2/3 {
		t.Fatalf("A had %d of its %d entries done when B's last arrived: B waited behind A's burst", done, burst)
	}
	w.waitEntries(orgA, "A's burst after the kill", burst, nil)
	w.waitOutbox(a.company, "every operation done", func(c map[string]int) bool { return len(c) == 1 && c["done"] > 0 })
	if t.Failed() {
		t.Logf("sink logs:\n%s", logs.String())
	}
}

// TestTwoInstancesNeverOverlapOnACompany: two sinks with short sessions pass
// companies back and forth; no two runs of one company's operations overlap
// in the ledger's processing windows, and Align ends exactly as written.
func TestTwoInstancesNeverOverlapOnACompany(t *testing.T) {
	w := newWorld(t)
	latency := 5
	if _, err := w.env.Align.Control.SetFaults(w.ctx(), alignsim.Faults{LatencyMs: &latency}); err != nil {
		t.Fatal(err)
	}
	var companies []*companyWork
	for i := 0; i < 6; i++ {
		id, org := w.connectCompany(fmt.Sprintf("Shared %d", i))
		companies = append(companies, &companyWork{id: id, org: org})
	}
	cfg := Config{Slots: 4, TurnOps: 2, SessionMax: 50 * time.Millisecond, LeaseTTL: 3 * time.Second}
	first := cfg
	first.Instance = "sink-a"
	w.runSink(first)
	second := cfg
	second.Instance = "sink-b"
	w.startSink(second)
	for _, cw := range companies {
		w.writeCompanyWorkload(cw, 60)
	}
	for _, cw := range companies {
		st := w.waitFor(cw.org, "company "+cw.id+" synced", func(s alignsim.State) bool { return synced(s, cw) })
		checkConverged(t, st, cw)
		w.waitOutbox(cw.id, "every operation done", func(c map[string]int) bool { return len(c) == 1 && c["done"] > 0 })
		checkNoOverlap(t, w.env, cw.id)
	}
}

// checkNoOverlap reads a company's processing windows (start of the last run,
// completion) and fails when two of them overlap.
func checkNoOverlap(t *testing.T, env *testenv.Env, company string) {
	t.Helper()
	rows, err := env.Pool.Query(context.Background(), `SELECT id, started_at, done_at FROM align_sync.outbox
		WHERE company_id = $1 AND status = 'done' AND started_at IS NOT NULL`, company)
	if err != nil {
		t.Fatal(err)
	}
	type window struct {
		id          int64
		start, done time.Time
	}
	var ws []window
	for rows.Next() {
		var w window
		if err := rows.Scan(&w.id, &w.start, &w.done); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	rows.Close()
	sort.Slice(ws, func(i, j int) bool { return ws[i].start.Before(ws[j].start) })
	for i := 1; i < len(ws); i++ {
		if ws[i].start.Before(ws[i-1].done) {
			t.Fatalf("company %s: operation %d started at %s, before operation %d finished at %s",
				company, ws[i].id, ws[i].start.Format(time.RFC3339Nano), ws[i-1].id, ws[i-1].done.Format(time.RFC3339Nano))
		}
	}
	if len(ws) < 10 {
		t.Fatalf("company %s: only %d processing windows recorded", company, len(ws))
	}
}
