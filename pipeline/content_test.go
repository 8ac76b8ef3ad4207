package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/pipeline/translate"
)

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
