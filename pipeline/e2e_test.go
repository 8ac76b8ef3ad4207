package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/ingest"
)

// alignRequests counts the sink's HTTP attempts against Align so far.
func (w *world) alignRequests() float64 {
	total := 0.0
	mfs, _ := w.sinkReg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "alignsync_align_requests_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func entryByExternalID(s alignsim.State, id string) (alignsim.TimeEntry, bool) {
	for _, e := range s.TimeEntries {
		if e.ExternalID != nil && *e.ExternalID == id {
			return e, true
		}
	}
	return alignsim.TimeEntry{}, false
}

// writeBack moves an entry's status the way the webhook receiver does, through
// the same function.
func (w *world) writeBack(companyID, entryID, status, reason string) {
	w.t.Helper()
	err := pgx.BeginFunc(context.Background(), w.env.Pool, func(tx pgx.Tx) error {
		_, err := ingest.AdvanceStatus(context.Background(), tx, companyID, entryID, status, reason)
		return err
	})
	if err != nil {
		w.t.Fatalf("writing back %s: %v", status, err)
	}
}

// TestEveryTranslationEndToEnd writes rows with SQL, as Illumera does, and
// checks Align after each change: every row of the translation table.
func TestEveryTranslationEndToEnd(t *testing.T) {
	w := newWorld(t)
	company, org := w.connectCompany("Umbrella")
	unconnected := uuid.NewString()
	w.exec(`INSERT INTO companies (id, name) VALUES ($1, 'Not connected')`, unconnected)
	sink := w.runSink(Config{})
	_ = sink
	state := func(what string, ok func(alignsim.State) bool) alignsim.State { return w.waitFor(org, what, ok) }

	project, talent, eng := uuid.NewString(), uuid.NewString(), uuid.NewString()
	w.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, 'grace@example.com', 'Grace Hopper')`, talent)
	w.exec(`INSERT INTO projects (id, company_id, title, description, status) VALUES ($1, $2, 'Compiler', 'A-0', 'draft')`, project, company)
	st := state("project created on hold", func(s alignsim.State) bool { return len(s.Projects) == 1 })
	p := st.Projects[0]
	if p.Name != "Compiler" || p.Description == nil || *p.Description != "A-0" || p.Status != "on_hold" || !p.TimeBillingEnabled {
		t.Fatalf("project = %+v, want Compiler/A-0, on_hold, time billing on", p)
	}

	w.exec(`UPDATE projects SET title = 'Compiler II', description = 'A-1' WHERE id = $1`, project)
	state("project renamed", func(s alignsim.State) bool {
		return s.Projects[0].Name == "Compiler II" && *s.Projects[0].Description == "A-1"
	})

	w.exec(`INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks) VALUES ($1, $2, 'Linker | loader', 20, 10), ($1, $2, 'Tester', 10, 4)`, project, company)
	w.exec(`INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks, status) VALUES ($1, $2, 'Filled role', 40, 1, 'filled')`, project, company)
	w.exec(`UPDATE projects SET status = 'active' WHERE id = $1`, project)
	st = state("active with staffing page", func(s alignsim.State) bool { return s.Projects[0].Status == "active" && len(s.WikiPages) == 1 })
	page := *st.WikiPages[0].Content
	if !strings.Contains(page, `| Linker \| loader | 20 | 10 | 200 |`) || !strings.Contains(page, "| Tester | 10 | 4 | 40 |") || strings.Contains(page, "Filled role") {
		t.Fatalf("staffing page lists the wrong roles:\n%s", page)
	}

	w.exec(`UPDATE projects SET status = 'on_hold' WHERE id = $1`, project)
	w.exec(`UPDATE project_roles SET status = 'filled' WHERE title = 'Tester'`)
	w.exec(`UPDATE projects SET status = 'active' WHERE id = $1`, project)
	st = state("page rewritten on reactivation", func(s alignsim.State) bool {
		return len(s.WikiPages) == 1 && !strings.Contains(*s.WikiPages[0].Content, "Tester")
	})

	w.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 12000, 'invited')`, eng, company, project, talent)
	w.exec(`UPDATE engagements SET status = 'accepted' WHERE id = $1`, eng)
	st = state("talent provisioned and added", func(s alignsim.State) bool { return len(s.Members) == 1 })
	var grace alignsim.User
	for _, u := range st.Users {
		if u.Email == "grace@example.com" {
			grace = u
		}
	}
	if grace.Role != "developer" || grace.Name != "Grace Hopper" || st.Members[0].UserID != grace.ID {
		t.Fatalf("user %+v, members %+v: want Grace as a developer member", grace, st.Members)
	}

	entry := uuid.NewString()
	w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, description)
		VALUES ($1, $2, $3, $4, $5, '2026-11-23', 45, 'parser')`, entry, company, eng, project, talent)
	st = state("draft entry", func(s alignsim.State) bool { _, ok := entryByExternalID(s, entry); return ok })
	te, _ := entryByExternalID(st, entry)
	var meta map[string]any
	_ = json.Unmarshal(te.ExternalMetadata, &meta)
	if te.Status != "draft" || te.Minutes != 45 || te.Hours != "0.75" || *te.Description != "parser" || te.CostCents == nil || *te.CostCents != 9000 || meta["rateCents"] != 12000.0 {
		t.Fatalf("entry = %+v (metadata %v), want a 45-minute draft costing 9000 cents", te, meta)
	}

	w.exec(`UPDATE time_entries SET minutes = 150, description = 'parser and lexer' WHERE id = $1`, entry)
	state("draft edited", func(s alignsim.State) bool {
		e, _ := entryByExternalID(s, entry)
		return e.Minutes == 150 && e.Hours == "2.5"
	})

	w.exec(`UPDATE time_entries SET status = 'submitted' WHERE id = $1`, entry)
	st = state("submitted", func(s alignsim.State) bool { e, _ := entryByExternalID(s, entry); return e.Status == "submitted" })
	te, _ = entryByExternalID(st, entry)

	// A manager rejects in Align; ingest writes the status back. No echo.
	if _, err := w.env.Align.Control.Reject(context.Background(), te.ID, "Wrong code"); err != nil {
		t.Fatal(err)
	}
	w.waitOutbox(company, "quiet", func(c map[string]int) bool { return len(c) == 1 && c["done"] > 0 })
	before := w.alignRequests()
	w.writeBack(company, entry, "rejected", "Wrong code")
	marker := uuid.NewString() // a later change proves the write-back was consumed
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Marker', 'draft')`, marker, company)
	state("marker", func(s alignsim.State) bool { return len(s.Projects) == 2 })
	if got := w.alignRequests() - before; got != 1 {
		t.Fatalf("the rejected write-back and a project insert made %v Align requests, want 1 (the project): echo", got)
	}

	w.exec(`UPDATE time_entries SET minutes = 60 WHERE id = $1`, entry)
	state("rejected entry edited", func(s alignsim.State) bool {
		e, _ := entryByExternalID(s, entry)
		return e.Minutes == 60 && e.Status == "rejected"
	})
	w.exec(`UPDATE time_entries SET status = 'submitted' WHERE id = $1`, entry)
	state("resubmitted", func(s alignsim.State) bool { e, _ := entryByExternalID(s, entry); return e.Status == "submitted" })

	adj := uuid.NewString()
	w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, description, status, adjustment_of)
		VALUES ($1, $2, $3, $4, $5, '2026-11-23', 30, 'correction', 'submitted', $6)`, adj, company, eng, project, talent, entry)
	st = state("adjustment submitted", func(s alignsim.State) bool { e, _ := entryByExternalID(s, adj); return e.Status == "submitted" })
	a, _ := entryByExternalID(st, adj)
	meta = nil
	_ = json.Unmarshal(a.ExternalMetadata, &meta)
	if meta["adjustmentOf"] != entry || meta["adjustmentOfAlignId"] != te.ID {
		t.Fatalf("adjustment metadata = %v, want adjustmentOf %s and its Align id %s", meta, entry, te.ID)
	}

	// Approved, locked, invoiced come from Align: no calls.
	w.waitOutbox(company, "quiet", func(c map[string]int) bool { return len(c) == 1 })
	before = w.alignRequests()
	for _, s := range []string{"approved", "locked", "invoiced"} {
		w.writeBack(company, adj, s, "")
	}
	w.exec(`UPDATE engagements SET status = 'ended' WHERE id = $1`, eng)
	state("member removed", func(s alignsim.State) bool { return len(s.Members) == 0 })
	if got := w.alignRequests() - before; got != 1 {
		t.Fatalf("three status write-backs and an ended engagement made %v Align requests, want 1 (the removal)", got)
	}

	// Nothing for a company without a connection.
	w.exec(`INSERT INTO projects (company_id, title, status) VALUES ($1, 'Elsewhere', 'active')`, unconnected)
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Marker 2', 'draft')`, uuid.NewString(), company)
	state("second marker", func(s alignsim.State) bool { return len(s.Projects) == 3 })
	if n := testutil.ToFloat64(sink.metrics.skips.WithLabelValues("projects", "not_connected")); n < 1 {
		t.Fatalf("skipped project changes = %v, want the unconnected company's insert counted", n)
	}
	var rows int
	_ = w.env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.outbox WHERE company_id = $1`, unconnected).Scan(&rows)
	if rows != 0 {
		t.Fatalf("the unconnected company has %d outbox rows", rows)
	}
}
