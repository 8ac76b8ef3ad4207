package pipeline

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
)

// companyWork is one company's share of a mixed workload and what Align
// must hold once it is synced.
type companyWork struct {
	id      string
	org     alignsim.Org
	project string
	emails  []string
	entries map[string]int // entry id → minutes
}

// writeCompanyWorkload writes exactly changesPerCompany changes of the
// synced tables for one company: a project activated with two open roles,
// two engagements accepted, and time entries inserted then submitted.
func (w *world) writeCompanyWorkload(cw *companyWork, changes int) {
	cw.project = uuid.NewString()
	cw.entries = map[string]int{}
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, $3, 'open')`, cw.project, cw.id, "Project "+cw.id[:8])
	w.exec(`INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks) VALUES ($1, $2, 'Engineer', 40, 8), ($1, $2, 'Analyst', 20, 6)`, cw.project, cw.id)
	w.exec(`UPDATE projects SET status = 'active' WHERE id = $1`, cw.project)
	changes -= 4
	var engagements, talents []string
	for i := 0; i < 2; i++ {
		talent, eng := uuid.NewString(), uuid.NewString()
		email := fmt.Sprintf("t%d-%s@example.com", i, talent[:8])
		cw.emails = append(cw.emails, email)
		w.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, $3)`, talent, email, "Talent "+talent[:8])
		w.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, $5, 'invited')`,
			eng, cw.id, cw.project, talent, 6000+i*1500)
		w.exec(`UPDATE engagements SET status = 'accepted' WHERE id = $1`, eng)
		engagements, talents = append(engagements, eng), append(talents, talent)
		changes -= 2
	}
	for i := 0; changes >= 2; i++ {
		entry, minutes := uuid.NewString(), 15+(i*7)%240
		k := i % 2
		w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, description)
			VALUES ($1, $2, $3, $4, $5, '2026-11-20'::date + $6::int, $7, 'work')`, entry, cw.id, engagements[k], cw.project, talents[k], i%5, minutes)
		w.exec(`UPDATE time_entries SET status = 'submitted' WHERE id = $1`, entry)
		cw.entries[entry] = minutes
		changes -= 2
	}
}

// checkConverged asserts the org holds exactly the company's entities.
func checkConverged(t *testing.T, st alignsim.State, cw *companyWork) {
	t.Helper()
	if len(st.Projects) != 1 || st.Projects[0].Status != "active" || !st.Projects[0].TimeBillingEnabled {
		t.Errorf("company %s: projects %+v, want exactly one active", cw.id, st.Projects)
	}
	if len(st.WikiPages) != 1 {
		t.Errorf("company %s: %d wiki pages, want 1", cw.id, len(st.WikiPages))
	}
	if len(st.Users) != 3 || len(st.Members) != 2 { // the org's manager, and two developers
		t.Errorf("company %s: %d users and %d members, want 3 and 2", cw.id, len(st.Users), len(st.Members))
	}
	if len(st.TimeEntries) != len(cw.entries) {
		t.Errorf("company %s: %d time entries, want %d", cw.id, len(st.TimeEntries), len(cw.entries))
	}
	seen := map[string]bool{}
	for _, e := range st.TimeEntries {
		id := *e.ExternalID
		if seen[id] {
			t.Errorf("company %s: entry %s twice", cw.id, id)
		}
		seen[id] = true
		if want, ok := cw.entries[id]; !ok || e.Minutes != want || e.Status != "submitted" {
			t.Errorf("company %s: entry %s = %d min %s, want %d min submitted", cw.id, id, e.Minutes, e.Status, want)
		}
	}
}

// synced reports whether the org holds everything the company wrote.
func synced(st alignsim.State, cw *companyWork) bool {
	submitted := 0
	for _, e := range st.TimeEntries {
		if e.Status == "submitted" {
			submitted++
		}
	}
	return submitted >= len(cw.entries) && len(st.WikiPages) >= 1 && len(st.Members) >= 2
}
