package pipeline

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/pipeline/translate"
)

// largeText is n random CJK characters: about 3n bytes that compression
// cannot shrink, so PostgreSQL stores them out of line (TOAST).
func largeText(n int) string {
	var b strings.Builder
	for range n {
		b.WriteRune(rune(0x4E00 + rand.IntN(0x9FA5-0x4E00)))
	}
	return b.String()
}

// assertOutOfLine fails unless the column's stored value is too large to
// stay in its row, so that an update not touching it sends it as unchanged.
func (w *world) assertOutOfLine(table, column, id string) {
	w.t.Helper()
	var size int
	if err := w.env.Pool.QueryRow(context.Background(), `SELECT pg_column_size(`+column+`) FROM `+table+` WHERE id = $1`, id).Scan(&size); err != nil {
		w.t.Fatal(err)
	}
	if size <= 2032 {
		w.t.Fatalf("%s.%s is stored in %d bytes: too small for TOAST, the test proves nothing", table, column, size)
	}
}

// alignCalls counts the sink's attempts on one route, e.g. "PATCH /projects/:id".
func (w *world) alignCalls(route string) float64 {
	total := 0.0
	mfs, _ := w.sinkReg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "alignsync_align_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == route {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func (w *world) countOps(company string, kind translate.Kind, entityID string) int {
	w.t.Helper()
	var n int
	if err := w.env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.outbox
		WHERE company_id = $1 AND op = $2 AND entity_id = $3`, company, string(kind), entityID).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// Issue 13, point 5: updates that leave a large (TOASTed) value alone keep
// it in Align, for every synced text column, and cause no needless call.
func TestLargeValuesSurviveUpdates(t *testing.T) {
	w := newWorld(t)
	company, org := w.connectCompany("Large Values Co")
	w.runSink(Config{})
	// Align takes at most 2000 characters of an entry's description: 6000 bytes here.
	title, desc, roleTitle, entryDesc := largeText(2100), largeText(2500), largeText(2200), largeText(2000)
	project, talent, eng, role := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	w.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, 'dev@example.com', 'Dev')`, talent)
	w.exec(`INSERT INTO projects (id, company_id, title, description, status) VALUES ($1, $2, $3, $4, 'draft')`, project, company, title, desc)
	w.exec(`INSERT INTO project_roles (id, project_id, company_id, title, hours_per_week, duration_weeks) VALUES ($1, $2, $3, $4, 20, 10)`,
		role, project, company, roleTitle)
	w.assertOutOfLine("projects", "title", project)
	w.assertOutOfLine("projects", "description", project)
	w.assertOutOfLine("project_roles", "title", role)
	projectIs := func(s alignsim.State, status string) bool {
		return len(s.Projects) == 1 && s.Projects[0].Name == title && s.Projects[0].Description != nil &&
			*s.Projects[0].Description == desc && s.Projects[0].Status == status
	}
	w.waitFor(org, "the project with its large title and description", func(s alignsim.State) bool { return projectIs(s, "on_hold") })

	// A column Align does not show changes: no call at all.
	w.exec(`UPDATE projects SET start_date = '2026-12-01' WHERE id = $1`, project)
	sentinel := uuid.NewString()
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Sentinel', 'draft')`, sentinel, company)
	w.waitOp(company, translate.ProjectCreate, sentinel, "the sentinel project", isDone)
	if n := w.countOps(company, translate.ProjectUpdate, project); n != 0 {
		t.Fatalf("a start date change recorded %d project updates, want none", n)
	}

	w.exec(`UPDATE projects SET status = 'active' WHERE id = $1`, project)
	w.waitFor(org, "the project active, its title and description kept", func(s alignsim.State) bool {
		return len(s.Projects) == 2 && projectIs(alignsim.State{Projects: projectsNamed(s, title)}, "active") && len(s.WikiPages) == 1
	})
	w.exec(`UPDATE project_roles SET hours_per_week = 30 WHERE id = $1`, role)
	w.waitFor(org, "the staffing page following the role, its large title kept", func(s alignsim.State) bool {
		return len(s.WikiPages) == 1 && strings.Contains(*s.WikiPages[0].Content, "| "+roleTitle+" | 30 | 10 | 300 |")
	})

	w.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 9000, 'accepted')`,
		eng, company, project, talent)
	entry := w.largeEntry(company, eng, project, talent, entryDesc)
	entryIs := func(minutes int, status string) func(alignsim.State) bool {
		return func(s alignsim.State) bool {
			e, ok := entryByExternalID(s, entry)
			return ok && e.Minutes == minutes && e.Status == status && e.Description != nil && *e.Description == entryDesc
		}
	}
	w.waitFor(org, "the draft entry with its large description", entryIs(60, "draft"))
	w.exec(`UPDATE time_entries SET minutes = 75 WHERE id = $1`, entry)
	w.waitFor(org, "the minutes edited, the description kept", entryIs(75, "draft"))
	w.exec(`UPDATE time_entries SET status = 'submitted' WHERE id = $1`, entry)
	w.waitFor(org, "the entry submitted, the description kept", entryIs(75, "submitted"))

	// Without old values (REPLICA IDENTITY DEFAULT) the last recorded row
	// stands in for them.
	w.exec(`ALTER TABLE time_entries REPLICA IDENTITY DEFAULT`)
	other := w.largeEntry(company, eng, project, talent, entryDesc)
	w.exec(`UPDATE time_entries SET minutes = 90 WHERE id = $1`, other)
	w.waitFor(org, "an entry without old values edited, its description kept", func(s alignsim.State) bool {
		e, ok := entryByExternalID(s, other)
		return ok && e.Minutes == 90 && e.Description != nil && *e.Description == entryDesc
	})
}

func (w *world) largeEntry(company, eng, project, talent, desc string) string {
	id := uuid.NewString()
	w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, description)
		VALUES ($1, $2, $3, $4, $5, '2026-11-24', 60, $6)`, id, company, eng, project, talent, desc)
	w.assertOutOfLine("time_entries", "description", id)
	return id
}

func projectsNamed(s alignsim.State, name string) []alignsim.Project {
	var out []alignsim.Project
	for _, p := range s.Projects {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// Issue 13, point 6: the staffing page of an active project follows its
// roles and title, one update per burst of changes; a project that is not
// active gets no page from its roles.
func TestStaffingPageFollowsRoles(t *testing.T) {
	w := newWorld(t)
	company, org := w.connectCompany("Staffing Co")
	w.runSink(Config{})
	project, draft := uuid.NewString(), uuid.NewString()
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Harbor', 'open'), ($3, $2, 'Draft', 'draft')`,
		project, company, draft)
	w.exec(`INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks)
		VALUES ($1, $2, 'Architect', 20, 10), ($1, $2, 'Tester', 10, 4), ($3, $2, 'Draft role', 10, 4)`, project, company, draft)
	w.exec(`UPDATE projects SET status = 'active' WHERE id = $1`, project)
	page := func(s alignsim.State) string {
		if len(s.WikiPages) != 1 || s.WikiPages[0].Content == nil {
			return ""
		}
		return *s.WikiPages[0].Content
	}
	w.waitFor(org, "the first staffing page", func(s alignsim.State) bool { return strings.Contains(page(s), "| Tester | 10 | 4 | 40 |") })
	w.waitOutbox(company, "the first page's operations done", func(c map[string]int) bool { return len(c) == 1 && c["done"] > 0 })
	patches := w.alignCalls("PATCH /wiki-pages/:id")

	// One burst: a role added, one changed, one filled, and the title changed.
	w.exec(`WITH added AS (INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks)
		              VALUES ($1, $2, 'Analyst', 30, 6) RETURNING 1),
		     changed AS (UPDATE project_roles SET duration_weeks = 12 WHERE project_id = $1 AND title = 'Architect' RETURNING 1),
		     filled AS (UPDATE project_roles SET status = 'filled' WHERE project_id = $1 AND title = 'Tester' RETURNING 1)
		UPDATE projects SET title = 'Harbor II' WHERE id = $1`, project, company)
	st := w.waitFor(org, "the page rewritten", func(s alignsim.State) bool {
		p := page(s)
		return strings.Contains(p, "Staffing plan: Harbor II") && strings.Contains(p, "| Analyst | 30 | 6 | 180 |") &&
			strings.Contains(p, "| Architect | 20 | 12 | 240 |") && !strings.Contains(p, "Tester")
	})
	w.waitOutbox(company, "the burst's operations done", func(c map[string]int) bool { return len(c) == 1 && c["done"] > 0 })
	if n := w.countOps(company, translate.WikiWrite, project); n < 5 {
		t.Fatalf("%d staffing page operations for the project, want 5 (activation, three roles, the title)", n)
	}
	if got := w.alignCalls("PATCH /wiki-pages/:id") - patches; got != 1 {
		t.Fatalf("the burst updated the page %v times, want once", got)
	}
	if len(st.WikiPages) != 1 || st.WikiPages[0].ProjectID != projectsNamed(st, "Harbor II")[0].ID {
		t.Fatalf("pages %+v: want one, for the active project only", st.WikiPages)
	}
}

func TestLabelledFitsAlign(t *testing.T) {
	label := "Adjusts the time entry of 2026-11-20 (90 minutes)."
	long := largeText(maxDescription - 10)
	tooLong := largeText(maxDescription + 1)
	for _, tt := range []struct {
		desc, want string
	}{
		{"", label},
		{"Corrected", label + " Corrected"},
		{long, string([]rune(label + " " + long)[:maxDescription-1]) + "…"},
		{tooLong, label + " " + tooLong},
	} {
		got := labelled(label, tt.desc)
		if got != tt.want {
			t.Errorf("labelled(%d characters) = %d characters %q…, want %d", len([]rune(tt.desc)), len([]rune(got)), string([]rune(got)[:60]), len([]rune(tt.want)))
		}
	}
}

// Issue 13, point 7: an adjustment's description in Align says which entry
// it adjusts (work date and minutes), besides the metadata link.
func TestAdjustmentsAreLabelled(t *testing.T) {
	w := newWorld(t)
	company, org := w.connectCompany("Adjusting Co")
	w.runSink(Config{})
	project, talent := w.engagedProject(company, "adj@example.com")
	eng := w.engage(company, project, talent, "accepted")
	orig, adj := uuid.NewString(), uuid.NewString()
	w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, description, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-20', 90, 'Sprint work', 'submitted')`, orig, company, eng, project, talent)
	w.writeBack(company, orig, "rejected", "Hours exceed the estimate")
	w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, description, status, adjustment_of)
		VALUES ($1, $2, $3, $4, $5, '2026-11-20', 60, 'Corrected hours', 'draft', $6)`, adj, company, eng, project, talent, orig)
	label := "Adjusts the time entry of 2026-11-20 (90 minutes). "
	w.waitFor(org, "the adjustment labelled", func(s alignsim.State) bool {
		e, ok := entryByExternalID(s, adj)
		return ok && e.Description != nil && *e.Description == label+"Corrected hours" && strings.Contains(string(e.ExternalMetadata), orig)
	})
	w.exec(`UPDATE time_entries SET description = 'Corrected hours, per the estimate' WHERE id = $1`, adj)
	w.waitFor(org, "the label kept through an edit", func(s alignsim.State) bool {
		e, ok := entryByExternalID(s, adj)
		return ok && e.Description != nil && *e.Description == label+"Corrected hours, per the estimate"
	})
}
