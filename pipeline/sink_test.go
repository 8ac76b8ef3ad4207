package pipeline

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
)

// fixture is one company's Illumera rows, written to the database as the
// application would and described as envelopes for emit.
type fixture struct {
	company, project, role, talent, engagement, entry string
	email                                             string
}

func (h *harness) seed(company string) fixture {
	f := fixture{company: company, project: uuid.NewString(), role: uuid.NewString(), talent: uuid.NewString(),
		engagement: uuid.NewString(), entry: uuid.NewString()}
	f.email = "dev-" + f.talent[:8] + "@example.com"
	h.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Ada Lovelace')`, f.talent, f.email)
	h.exec(`INSERT INTO projects (id, company_id, title, description, status) VALUES ($1, $2, 'Radar', 'Build it', 'active')`, f.project, company)
	h.exec(`INSERT INTO project_roles (id, project_id, company_id, title, hours_per_week, duration_weeks) VALUES ($1, $2, $3, 'Go engineer', 40, 12)`, f.role, f.project, company)
	h.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, role_id, rate_cents, status) VALUES ($1, $2, $3, $4, $5, 9000, 'accepted')`,
		f.engagement, company, f.project, f.talent, f.role)
	h.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, description, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-20', 100, 'API work', 'submitted')`, f.entry, company, f.engagement, f.project, f.talent)
	return f
}

func (f fixture) projectRow(status string) map[string]any {
	return row("id", f.project, "company_id", f.company, "title", "Radar", "description", "Build it", "status", status)
}

func (f fixture) engagementRow(status string) map[string]any {
	return row("id", f.engagement, "company_id", f.company, "project_id", f.project, "talent_id", f.talent, "rate_cents", 9000, "status", status)
}

func (f fixture) entryRow(status string, minutes int) map[string]any {
	return row("id", f.entry, "company_id", f.company, "engagement_id", f.engagement, "project_id", f.project, "talent_id", f.talent,
		"work_date", "2026-11-20", "minutes", minutes, "description", "API work", "status", status, "adjustment_of", nil)
}

func TestSinkSyncsAFullEngagement(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Acme")
	f := h.seed(company)
	h.startSink(Config{})

	h.emit("projects", "c", nil, f.projectRow("active"))
	h.emit("engagements", "c", nil, f.engagementRow("accepted"))
	h.emit("time_entries", "c", nil, f.entryRow("submitted", 100))

	st := h.waitFor(org, "project, page, user, member and submitted entry", func(s alignsim.State) bool {
		return len(s.TimeEntries) == 1 && s.TimeEntries[0].Status == "submitted" && len(s.WikiPages) == 1
	})
	if len(st.Projects) != 1 || st.Projects[0].Name != "Radar" || st.Projects[0].Status != "active" || !st.Projects[0].TimeBillingEnabled {
		t.Fatalf("projects = %+v, want one active Radar with time billing", st.Projects)
	}
	page := st.WikiPages[0]
	if page.ProjectID != st.Projects[0].ID || page.Content == nil || !strings.Contains(*page.Content, "| Go engineer | 40 | 12 | 480 |") {
		t.Fatalf("wiki page = %+v, want the staffing plan with the open role", page)
	}
	var user alignsim.User
	for _, u := range st.Users {
		if u.Email == f.email {
			user = u
		}
	}
	if user.ID == "" || user.Name != "Ada Lovelace" || user.Role != "developer" {
		t.Fatalf("users = %+v, want Ada as developer", st.Users)
	}
	if len(st.Members) != 1 || st.Members[0].UserID != user.ID || st.Members[0].ProjectID != st.Projects[0].ID {
		t.Fatalf("members = %+v, want Ada on Radar", st.Members)
	}
	te := st.TimeEntries[0]
	if te.Minutes != 100 || te.Hours != "1.75" || te.WorkDate != "2026-11-20" || te.UserID != user.ID ||
		te.ExternalID == nil || *te.ExternalID != f.entry || te.CostCents == nil || *te.CostCents != 15000 {
		t.Fatalf("time entry = %+v, want 100 min (1.75 h) on 2026-11-20 costing 15000 cents, externalId %s", te, f.entry)
	}
	h.waitOutbox(company, "every operation done", func(c map[string]int) bool { return c["done"] == 6 && len(c) == 1 })
}
