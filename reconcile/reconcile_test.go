package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/pipeline"
)

func TestMissedWebhooksAreRecordedRepairedAndThenClean(t *testing.T) {
	h := newHarness(t)
	h.now = func() time.Time { return time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC) }
	company, org := h.connect("Acme")
	proj, talent, engagement := uuid.NewString(), uuid.NewString(), uuid.NewString()
	h.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Ada Lovelace')`, talent, "ada-"+talent[:8]+"@example.com")
	h.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Radar', 'active')`, proj, company)
	h.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 9000, 'accepted')`,
		engagement, company, proj, talent)
	entries := make([]string, 4)
	for i := range entries {
		entries[i] = uuid.NewString()
		h.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
			VALUES ($1, $2, $3, $4, $5, '2026-11-20', 100, 'submitted')`, entries[i], company, engagement, proj, talent)
	}

	h.startSink(pipeline.Config{})
	h.emit("projects", row("id", proj, "company_id", company, "title", "Radar", "description", nil, "status", "active"))
	h.emit("engagements", row("id", engagement, "company_id", company, "project_id", proj, "talent_id", talent, "rate_cents", 9000, "status", "accepted"))
	for _, id := range entries {
		h.emit("time_entries", row("id", id, "company_id", company, "engagement_id", engagement, "project_id", proj, "talent_id", talent,
			"work_date", "2026-11-20", "minutes", 100, "description", nil, "status", "submitted", "adjustment_of", nil))
	}
	alignID := map[string]string{}
	h.waitUntil("four submitted entries in Align", func() bool {
		st := h.alignState(org)
		for _, e := range st.TimeEntries {
			if e.Status == "submitted" && e.ExternalID != nil {
				alignID[*e.ExternalID] = e.ID
			}
		}
		return len(alignID) == 4 && h.outboxOpen(company) == 0
	})

	ctx, ctl := h.ctx(), h.env.Align.Control
	if _, err := ctl.Approve(ctx, alignID[entries[0]]); err != nil {
		t.Fatal(err)
	}
	h.waitUntil("the first approval to arrive by webhook", func() bool { s, _ := h.entryStatus(entries[0]); return s == "approved" })

	if _, err := ctl.SetFaults(ctx, alignsim.Faults{DropWebhooks: alignsim.Ptr(1.0)}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		do    func(context.Context, string) (alignsim.TimeEntry, error)
		entry string
	}{{ctl.Approve, entries[1]}, {ctl.Approve, entries[2]}, {ctl.Lock, entries[2]}} {
		if _, err := step.do(ctx, alignID[step.entry]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ctl.Reject(ctx, alignID[entries[3]], "Wrong project code"); err != nil {
		t.Fatal(err)
	}

	// The nightly comparison sees what the dropped webhooks did not bring.
	rep := h.run(Options{})
	if rep.StartDate != "2026-11-15" || rep.EndDate != "2026-11-22" {
		t.Fatalf("window = %s..%s, want the 7 days before 2026-11-22 through it", rep.StartDate, rep.EndDate)
	}
	want := map[string][2]int64{FieldApprovedMinutes: {100, 300}, FieldApprovedCostCents: {15000, 45000}}
	if got := h.recorded(rep.RunID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("recorded %v, want %v", got, want)
	}
	if tt := rep.Totals; tt.Companies != 1 || tt.Projects != 1 || tt.EntriesCompared != 4 || tt.Discrepancies != 2 || tt.Repairs != 0 || tt.Errors != 0 {
		t.Fatalf("totals = %+v", tt)
	}
	planned := map[string]string{}
	for _, r := range rep.Companies[0].Repairs {
		if r.Kind == RepairStatus && !r.Applied {
			planned[r.EntryID] = r.To
		}
	}
	if want := map[string]string{entries[1]: "approved", entries[2]: "locked", entries[3]: "rejected"}; fmt.Sprint(planned) != fmt.Sprint(want) {
		t.Fatalf("planned repairs = %+v, want %v, none applied", rep.Companies[0].Repairs, want)
	}
	if s, _ := h.entryStatus(entries[1]); s != "submitted" {
		t.Fatalf("a run without --repair changed entry 1 to %s", s)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "approved_minutes") || !strings.Contains(text.String(), "--repair") {
		t.Fatalf("summary (%v):\n%s", err, text.String())
	}

	rep = h.run(Options{Repair: true})
	if rep.Totals.Repairs != 3 {
		t.Fatalf("repairs = %+v, want 3 applied", rep.Companies[0].Repairs)
	}
	for i, want := range []string{"approved", "approved", "locked", "rejected"} {
		if s, _ := h.entryStatus(entries[i]); s != want {
			t.Errorf("entry %d is %s after repair, want %s", i, s, want)
		}
	}
	if _, reason := h.entryStatus(entries[3]); reason != "Wrong project code" {
		t.Errorf("rejection reason = %q, want Align's", reason)
	}
	var status string
	var discrepancies, repairs int
	if err := h.env.Pool.QueryRow(ctx, `SELECT status, discrepancies, repairs FROM align_sync.reconciliation_runs WHERE run_id = $1`,
		rep.RunID).Scan(&status, &discrepancies, &repairs); err != nil || status != "succeeded" || discrepancies != 2 || repairs != 3 {
		t.Fatalf("run row = %s, %d discrepancies, %d repairs (%v)", status, discrepancies, repairs, err)
	}

	rep = h.run(Options{})
	if got := h.recorded(rep.RunID); len(got) != 0 || rep.Totals.Discrepancies != 0 || len(rep.Companies[0].Repairs) != 0 {
		t.Fatalf("after repair: recorded %v, report %+v", got, rep.Companies[0])
	}

	if problems, err := testutil.GatherAndLint(h.reg); err != nil || len(problems) != 0 {
		t.Fatalf("metric lint: %v %+v", err, problems)
	}
	if n := testutil.ToFloat64(h.metrics.discrepancies.WithLabelValues(FieldApprovedMinutes)); n != 2 {
		t.Errorf("approved_minutes discrepancies counted %v, want 2", n)
	}
	if n := testutil.ToFloat64(h.metrics.repairs.WithLabelValues(RepairStatus)); n != 3 {
		t.Errorf("status repairs counted %v, want 3", n)
	}
	if n := testutil.ToFloat64(h.metrics.runs.WithLabelValues(outcomeSucceeded)); n != 3 {
		t.Errorf("succeeded runs counted %v, want 3", n)
	}
	if ts := testutil.ToFloat64(h.metrics.lastSuccess); ts != float64(h.now().Unix()) {
		t.Errorf("last success = %v, want %v", ts, h.now().Unix())
	}
}

func TestCostDifferenceOfExactly100CentsIsNoise(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Noise Co")
	p100 := h.linkedProject(company, org, 9100) // Illumera 9100 cents for the hour Align costs at 9000
	p101 := h.linkedProject(company, org, 9101)
	h.entry(p100, "2026-11-20", 60, 9000, "approved")
	h.entry(p101, "2026-11-20", 60, 9000, "approved")

	rep := h.run(Options{Window: Window{All: true}})
	var project string
	var illumera, alignValue int64
	rows, err := h.env.Pool.Query(h.ctx(), `SELECT project_id::text, illumera_value, align_value
		FROM align_sync.reconciliation_discrepancies WHERE run_id = $1 AND field = 'approved_cost_cents'`, rep.RunID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
		if err := rows.Scan(&project, &illumera, &alignValue); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 || project != p101.id || illumera != 9101 || alignValue != 9000 || rep.Totals.Discrepancies != 1 {
		t.Fatalf("recorded %d cost discrepancies (last: project %s, %d vs %d), report totals %+v; want only the 101-cent one",
			n, project, illumera, alignValue, rep.Totals)
	}
}

func TestEveryPageOfTheWindowIsRead(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Busy Co")
	p := h.linkedProject(company, org, 9000)
	const n = 110
	for i := range n {
		h.entry(p, fmt.Sprintf("2026-11-%02d", 1+i%28), 30, 9000, "approved")
	}
	// Outside the window, Align approved an entry whose webhook was lost: the
	// window keeps it out of the comparison on both sides.
	if _, err := h.env.Align.Control.SetFaults(h.ctx(), alignsim.Faults{DropWebhooks: alignsim.Ptr(1.0)}); err != nil {
		t.Fatal(err)
	}
	outside, _ := h.entry(p, "2026-12-05", 30, 9000, "approved")
	h.exec(`UPDATE time_entries SET status = 'submitted' WHERE id = $1`, outside)

	rep := h.run(Options{Window: Window{Start: "2026-11-01", End: "2026-11-30"}})
	pr := rep.Companies[0].Projects[0]
	if pr.AlignEntries != n || pr.IllumeraEntries != n || pr.EntriesCompared != n || len(pr.Discrepancies) != 0 ||
		pr.AlignApprovedMinutes != 30*n || pr.IllumeraApprovedCostCents != 4500*n {
		t.Fatalf("project report = %+v, want %d entries on both sides and no discrepancy", pr, n)
	}
	if lp := rep.Companies[0].LinkProblems; len(lp) != 0 {
		t.Fatalf("link problems over %d links: %+v", n+3, lp)
	}
}

func TestRepairReenqueuesAnEntryAlignNeverReceived(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Lost Co")
	proj, talent, engagement, first := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	h.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Grace Hopper')`, talent, "grace-"+talent[:8]+"@example.com")
	h.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Cobol', 'open')`, proj, company)
	h.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 6000, 'accepted')`,
		engagement, company, proj, talent)
	h.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-20', 45, 'submitted')`, first, company, engagement, proj, talent)
	h.startSink(pipeline.Config{})
	h.emit("projects", row("id", proj, "company_id", company, "title", "Cobol", "description", nil, "status", "open"))
	h.emit("engagements", row("id", engagement, "company_id", company, "project_id", proj, "talent_id", talent, "rate_cents", 6000, "status", "accepted"))
	h.emit("time_entries", row("id", first, "company_id", company, "engagement_id", engagement, "project_id", proj, "talent_id", talent,
		"work_date", "2026-11-20", "minutes", 45, "description", nil, "status", "submitted", "adjustment_of", nil))
	h.waitUntil("the first entry in Align", func() bool { return len(h.alignState(org).TimeEntries) == 1 && h.outboxOpen(company) == 0 })

	lost := uuid.NewString() // its change never reached the sink
	h.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-21', 30, 'submitted')`, lost, company, engagement, proj, talent)

	rep := h.run(Options{Window: Window{All: true}})
	if r := rep.Companies[0].Repairs; len(r) != 1 || r[0].Kind != RepairReenqueue || r[0].EntryID != lost || r[0].Applied {
		t.Fatalf("planned repairs = %+v, want the lost entry re-enqueued", r)
	}
	rep = h.run(Options{Window: Window{All: true}, Repair: true})
	if rep.Totals.Repairs != 1 {
		t.Fatalf("repairs = %+v", rep.Companies[0].Repairs)
	}
	h.waitUntil("the lost entry submitted in Align", func() bool {
		for _, e := range h.alignState(org).TimeEntries {
			if e.ExternalID != nil && *e.ExternalID == lost && e.Status == "submitted" {
				return true
			}
		}
		return false
	})
	h.waitUntil("the outbox to drain", func() bool { return h.outboxOpen(company) == 0 })
	rep = h.run(Options{Window: Window{All: true}})
	if r := rep.Companies[0].Repairs; len(r) != 0 || rep.Totals.EntriesCompared != 2 {
		t.Fatalf("after the re-enqueue: repairs %+v, totals %+v", r, rep.Totals)
	}
	if n := len(h.alignState(org).TimeEntries); n != 2 {
		t.Fatalf("Align holds %d entries, want 2", n)
	}
}

func TestLinksAlignDisagreesWithAreReported(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Links Co")
	p := h.linkedProject(company, org, 9000)
	entry, _ := h.entry(p, "2026-11-20", 60, 9000, "draft")
	other, _ := h.entry(p, "2026-11-20", 60, 9000, "draft")
	var otherAlign string
	if err := h.env.Pool.QueryRow(h.ctx(), `SELECT align_id FROM align_sync.entity_links WHERE illumera_id = $1`, other).Scan(&otherAlign); err != nil {
		t.Fatal(err)
	}
	h.exec(`UPDATE align_sync.entity_links SET align_id = $2 WHERE illumera_id = $1 AND entity_type = 'time_entry'`, entry, otherAlign)
	bogus := uuid.NewString()
	h.link(company, "wiki_page", p.id, bogus)

	rep := h.run(Options{Window: Window{All: true}})
	got := map[string]LinkProblem{}
	for _, l := range rep.Companies[0].LinkProblems {
		got[l.Problem] = l
	}
	if len(rep.Companies[0].LinkProblems) != 2 ||
		got[LinkPointsElsewhere].IllumeraID != entry || got[LinkPointsElsewhere].AlignID != otherAlign ||
		got[LinkUnknownToAlign].EntityType != "wiki_page" || got[LinkUnknownToAlign].AlignID != bogus {
		t.Fatalf("link problems = %+v", rep.Companies[0].LinkProblems)
	}
	if n := testutil.ToFloat64(h.metrics.linkProblems.WithLabelValues(LinkUnknownToAlign)); n != 1 {
		t.Errorf("unknown links counted %v, want 1", n)
	}
}

func TestNightlyRunsEachSlotOnceAcrossInstances(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Night Co")
	p := h.linkedProject(company, org, 9000)
	h.entry(p, "2026-11-25", 60, 9000, "approved")

	// Two instances whose clocks read 2026-11-26 01:59:59.8 UTC now.
	slot := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	offset := slot.Add(-200 * time.Millisecond).Sub(time.Now())
	var logs testenv.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		r, err := New(Config{Pool: h.env.Pool, Keys: h.conns, AlignBaseURL: h.env.Align.BaseURL,
			Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Now: func() time.Time { return time.Now().Add(offset) }})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Nightly(ctx, "02:00", Options{}); err != nil {
				t.Errorf("Nightly: %v", err)
			}
		}()
	}
	h.waitUntil("one instance to run the slot and the other to skip it", func() bool {
		s := logs.String()
		return strings.Contains(s, "nightly reconciliation finished") && strings.Contains(s, "already ran on another instance")
	})
	cancel()
	wg.Wait()
	var runs int
	var status string
	if err := h.env.Pool.QueryRow(context.Background(), `SELECT count(*), min(status) FROM align_sync.reconciliation_runs
		WHERE kind = 'nightly' AND scheduled_for = $1`, slot).Scan(&runs, &status); err != nil || runs != 1 || status != "succeeded" {
		t.Fatalf("nightly runs for the slot: %d, status %s (%v); logs:\n%s", runs, status, err, logs.String())
	}
	if err := h.reconciler().Nightly(context.Background(), "2am", Options{}); err == nil {
		t.Fatal("Nightly accepted a bad time")
	}
}

func TestAManualRunIsRefusedWhileAnotherRuns(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	conn, err := h.env.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reconciler().Run(ctx, Options{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("Run while locked: %v, want ErrBusy", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+lockKey+`)`); err != nil {
		t.Fatal(err)
	}
	if _, err := h.reconciler().Run(ctx, Options{CompanyID: uuid.NewString()}); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("Run for an unknown company: %v, want it refused as not connected", err)
	}
	rep := h.run(Options{})
	if rep.Totals.Companies != 0 || rep.RunID == "" {
		t.Fatalf("run without companies = %+v", rep)
	}
}
