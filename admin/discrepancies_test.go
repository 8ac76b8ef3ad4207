package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"
)

// insertDiscrepancies gives company an open and a resolved minutes
// discrepancy of one project and an open cost one.
func insertDiscrepancies(s *stack, company string) {
	project := uuid.NewString()
	s.exec(`INSERT INTO align_sync.reconciliation_discrepancies
		(run_id, company_id, project_id, field, illumera_value, align_value, detected_at, last_detected_at, resolved_at, resolved_run_id)
		VALUES ($1, $2, $3, 'approved_minutes', 100, 90, now() - interval '3 days', now() - interval '2 days', now() - interval '1 day', $1),
		       ($1, $2, $3, 'approved_minutes', 480, 420, now() - interval '12 hours', now(), NULL, NULL),
		       ($1, $2, $3, 'approved_cost_cents', 72000, 63000, now() - interval '12 hours', now(), NULL, NULL)`,
		uuid.NewString(), company, project)
}

// The API lists open discrepancies by default; resolved ones stay as history.
func TestDiscrepancyListingShowsOpenByDefault(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	insertDiscrepancies(s, company)
	tok := token(t, company, admin.RoleCompanyAdmin)
	get := func(query string) (int, listPage) {
		var p listPage
		code := s.call(http.MethodGet, "/api/companies/"+company+"/align/reconciliation-discrepancies"+query, tok, nil, &p)
		return code, p
	}

	code, p := get("")
	if code != 200 || p.Total != 2 {
		t.Fatalf("default listing: %d %+v, want the 2 open discrepancies", code, p)
	}
	for _, d := range p.Data {
		if d["status"] != "open" || d["resolvedAt"] != nil || d["lastDetectedAt"] == nil {
			t.Fatalf("default listing holds %v", d)
		}
	}
	if _, p := get("?status=resolved"); p.Total != 1 || p.Data[0]["illumeraValue"] != float64(100) || p.Data[0]["status"] != "resolved" {
		t.Fatalf("resolved: %+v", p)
	}
	if _, p := get("?status=all"); p.Total != 3 {
		t.Fatalf("all: %+v", p)
	}
	if _, p := get("?status=open&field=approved_minutes"); p.Total != 1 || p.Data[0]["illumeraValue"] != float64(480) {
		t.Fatalf("open minutes: %+v", p)
	}
	for _, bad := range []string{"?status=closed", "?field=hours"} {
		if code, _ := get(bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
}

// The sync page shows open discrepancies by default and links to the
// resolved ones and to all of them.
func TestSyncPageShowsOpenDiscrepanciesByDefault(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	insertDiscrepancies(s, company)
	pc := s.login(company, admin.RoleCompanyAdmin)

	code, body := pc.get("/admin/align-sync")
	if code != http.StatusOK || !strings.Contains(body, "<caption>Open reconciliation discrepancies: 2 items, page 1 of 1</caption>") ||
		strings.Contains(body, ">100<") || !strings.Contains(body, ">480<") {
		t.Fatalf("default page: %d\n%s", code, body)
	}
	if !strings.Contains(body, `href="/admin/align-sync?company=`+company+`&amp;discrepancies_state=resolved#discrepancies"`) {
		t.Fatalf("no link to the resolved discrepancies:\n%s", body)
	}
	code, body = pc.get("/admin/align-sync?discrepancies_state=resolved&discrepancies_field=approved_minutes")
	if code != http.StatusOK || !strings.Contains(body, "<caption>Resolved reconciliation discrepancies: 1 item (field approved_minutes), page 1 of 1</caption>") ||
		!strings.Contains(body, ">100<") || strings.Contains(body, ">480<") ||
		!strings.Contains(body, `<input type="hidden" name="discrepancies_state" value="resolved">`) {
		t.Fatalf("resolved page: %d\n%s", code, body)
	}
	if code, body = pc.get("/admin/align-sync?discrepancies_state=all"); code != http.StatusOK ||
		!strings.Contains(body, "<caption>Reconciliation discrepancies: 3 items, page 1 of 1</caption>") {
		t.Fatalf("all: %d\n%s", code, body)
	}
	if code, _ := pc.get("/admin/align-sync?discrepancies_state=closed"); code != http.StatusBadRequest {
		t.Fatalf("unknown state: %d, want 400", code)
	}
}
