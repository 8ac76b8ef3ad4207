package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"

	"github.com/illumera/alignsync/internal/testenv"
)

// pageClient is a browser without JavaScript: a cookie jar, no redirects
// followed, so each answer can be looked at.
type pageClient struct {
	s *stack
	c *http.Client
}

func (s *stack) pageClient() *pageClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &pageClient{s: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login signs in with a fresh sign-in link for company and roles and fails
// unless it set the session.
func (s *stack) login(company string, roles ...string) *pageClient {
	s.t.Helper()
	pc := s.pageClient()
	resp, _ := pc.do(http.MethodGet, "/admin/login?token="+url.QueryEscape(signInToken(s.t, company, roles...)), nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("login answered %d", resp.StatusCode)
	}
	return pc
}

func (pc *pageClient) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	pc.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, pc.s.url+path, body)
	if err != nil {
		pc.s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := pc.c.Do(req)
	if err != nil {
		pc.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	pc.s.mu.Lock()
	pc.s.seen = append(pc.s.seen, string(raw))
	pc.s.mu.Unlock()
	return resp, string(raw)
}

func (pc *pageClient) get(path string) (int, string) {
	pc.s.t.Helper()
	resp, body := pc.do(http.MethodGet, path, nil, nil)
	return resp.StatusCode, body
}

func (pc *pageClient) post(path string, form url.Values) (int, string) {
	pc.s.t.Helper()
	resp, body := pc.do(http.MethodPost, path, form, nil)
	return resp.StatusCode, body
}

// csrf reads the form token from a page.
func (pc *pageClient) csrf(path string) string {
	pc.s.t.Helper()
	code, body := pc.get(path)
	m := csrfRe.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		pc.s.t.Fatalf("GET %s: %d, form token found: %v", path, code, m != nil)
	}
	return m[1]
}

func integrationPath(company string) string {
	return "/admin/companies/" + company + "/integrations/align"
}

// failedOperation records an operation as the sink parks one.
func (s *stack) failedOperation(company, msg string) {
	s.t.Helper()
	s.exec(`INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key, status, attempts, last_error, next_retry_at)
		VALUES ($1, 'project', $2, 'project.create', $3, 'failed', 5, $4, now() + interval '1 hour')`,
		company, uuid.NewString(), uuid.NewString(), msg)
}

func (s *stack) outboxStatuses(company string) string {
	s.t.Helper()
	var st string
	if err := s.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(status, ',' ORDER BY id), '')
		FROM align_sync.outbox WHERE company_id = $1`, company).Scan(&st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

// A company admin of A is refused every page and form of B, with the API's
// rule; nothing of B's appears in what A is shown. A platform admin sees both.
func TestPagesRefuseAnotherCompany(t *testing.T) {
	s := newStack(t)
	a, b := uuid.NewString(), uuid.NewString()
	s.exec(`INSERT INTO companies (id, name) VALUES ($1, 'Alpha Co'), ($2, 'Bravo Co')`, a, b)
	s.failedOperation(a, "alpha-marker-error")
	s.failedOperation(b, "bravo-marker-error")
	s.connect(b, s.org.OrgKey)
	before := testenv.CounterValue(t, s.reg, "alignsync_admin_auth_failures_total", "forbidden")

	pc := s.login(a, admin.RoleCompanyAdmin)
	tokenA := pc.csrf(integrationPath(a))
	for _, path := range []string{integrationPath(b), integrationPath(b) + "/disconnect",
		"/admin/align-sync?company=" + b, "/admin/align-sync?company=" + strings.ToUpper(b)} {
		code, body := pc.get(path)
		if code != http.StatusForbidden || !strings.Contains(body, "<h1>Not allowed</h1>") {
			t.Fatalf("GET %s as A's admin: %d", path, code)
		}
		if strings.Contains(body, "Bravo") || strings.Contains(body, "bravo-marker") {
			t.Fatalf("GET %s shows B's data", path)
		}
	}
	if code, _ := pc.get("/admin/align-sync?company=not-a-uuid"); code != http.StatusForbidden {
		t.Fatalf("a malformed company for a company admin: %d, want 403", code)
	}
	// Forms with A's valid token, aimed at B.
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/admin/align-sync/retry-failed", url.Values{"csrf_token": {tokenA}, "company": {b}}},
		{"/admin/align-sync/retry-failed-deliveries", url.Values{"csrf_token": {tokenA}, "company": {b}}},
		{integrationPath(b) + "/disconnect", url.Values{"csrf_token": {tokenA}}},
		{integrationPath(b) + "/connect", url.Values{"csrf_token": {tokenA}, "api_key": {s.org.OrgKey}}},
	} {
		if code, _ := pc.post(f.path, f.form); code != http.StatusForbidden {
			t.Fatalf("POST %s for B as A's admin: %d", f.path, code)
		}
	}
	if st := s.outboxStatuses(b); st != "failed" {
		t.Fatalf("B's operation is %s after A's refused Retry Failed", st)
	}
	var v connectionView
	s.call(http.MethodGet, connPath(b), token(t, b, admin.RoleCompanyAdmin), nil, &v)
	if v.Status != "connected" {
		t.Fatalf("B is %s after A's refused disconnect", v.Status)
	}
	if got := testenv.CounterValue(t, s.reg, "alignsync_admin_auth_failures_total", "forbidden") - before; got < 9 {
		t.Fatalf("%v refusals counted, want at least 9", got)
	}

	// A's own page, with no company asked for, is A's alone.
	code, body := pc.get("/admin/align-sync")
	if code != http.StatusOK || !strings.Contains(body, "alpha-marker-error") || strings.Contains(body, "bravo-marker") ||
		strings.Contains(body, "Bravo") || strings.Contains(body, `id="company"`) {
		t.Fatalf("A's sync page: %d, or it shows B or a company picker", code)
	}

	// A platform admin picks any company, and a malformed one is not found.
	pa := s.login("", admin.RolePlatformAdmin)
	code, body = pa.get("/admin/align-sync")
	if code != http.StatusOK || !strings.Contains(body, `<option value="`+a+`">Alpha Co</option>`) ||
		!strings.Contains(body, `<option value="`+b+`">Bravo Co</option>`) || strings.Contains(body, "marker-error") {
		t.Fatalf("platform admin without a company: %d\n%s", code, body)
	}
	code, body = pa.get("/admin/align-sync?company=" + b)
	if code != http.StatusOK || !strings.Contains(body, "bravo-marker-error") || strings.Contains(body, "alpha-marker") ||
		!strings.Contains(body, `<option value="`+b+`" selected>Bravo Co</option>`) {
		t.Fatalf("platform admin on B: %d", code)
	}
	if code, _ := pa.get(integrationPath(b)); code != http.StatusOK {
		t.Fatalf("platform admin on B's settings: %d", code)
	}
	if code, _ := pa.get("/admin/align-sync?company=not-a-uuid"); code != http.StatusNotFound {
		t.Fatalf("a malformed company for a platform admin: %d, want 404", code)
	}
}

// Every state-changing form is refused without this session's token, and
// nothing changes; with it, the same form works.
func TestPagesRequireCSRFToken(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	s.failedOperation(company, "boom")
	pc := s.login(company, admin.RoleCompanyAdmin)
	good := pc.csrf(integrationPath(company))
	other := s.login(uuid.NewString(), admin.RoleCompanyAdmin).csrf("/admin/align-sync")

	forms := []struct {
		path string
		form url.Values
	}{
		{integrationPath(company) + "/connect", url.Values{"api_key": {s.org.OrgKey}}},
		{integrationPath(company) + "/disconnect", url.Values{}},
		{"/admin/align-sync/retry-failed", url.Values{"company": {company}}},
		{"/admin/align-sync/retry-failed-deliveries", url.Values{"company": {company}}},
		{"/admin/logout", url.Values{}},
	}
	for _, f := range forms {
		for name, tok := range map[string]string{"without a token": "", "with another session's token": other, "with a forged token": good[:len(good)-2] + "xx"} {
			form := url.Values{}
			for k, v := range f.form {
				form[k] = v
			}
			if tok != "" {
				form.Set("csrf_token", tok)
			}
			code, body := pc.post(f.path, form)
			if code != http.StatusForbidden || !strings.Contains(body, "Form refused") {
				t.Fatalf("POST %s %s: %d", f.path, name, code)
			}
		}
	}
	var v connectionView
	s.call(http.MethodGet, connPath(company), token(t, company, admin.RoleCompanyAdmin), nil, &v)
	if v.Status != "disconnected" || s.outboxStatuses(company) != "failed" {
		t.Fatalf("a refused form changed something: connection %s, outbox %s", v.Status, s.outboxStatuses(company))
	}
	if code, _ := pc.get(integrationPath(company)); code != http.StatusOK {
		t.Fatal("the session was signed out by a refused logout")
	}

	// The same forms with the token.
	resp, _ := pc.do(http.MethodPost, integrationPath(company)+"/connect",
		url.Values{"csrf_token": {good}, "api_key": {s.org.OrgKey}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != integrationPath(company)+"?notice=connected" {
		t.Fatalf("connect with the token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = pc.do(http.MethodPost, "/admin/align-sync/retry-failed", url.Values{"csrf_token": {good}, "company": {company}}, nil)
	if resp.StatusCode != http.StatusSeeOther || s.outboxStatuses(company) != "pending" {
		t.Fatalf("Retry Failed with the token: %d, outbox %s", resp.StatusCode, s.outboxStatuses(company))
	}
	code, body := pc.get("/admin/align-sync")
	if code != http.StatusOK || !strings.Contains(body, `<p class="notice" role="status" id="notice">1 item reset to pending</p>`) {
		t.Fatalf("the page after Retry Failed: %d", code)
	}
	if _, body = pc.get("/admin/align-sync"); strings.Contains(body, "reset to pending") {
		t.Fatal("the Retry Failed notice is shown twice")
	}
	resp, _ = pc.do(http.MethodPost, integrationPath(company)+"/disconnect", url.Values{"csrf_token": {good}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disconnect with the token: %d", resp.StatusCode)
	}
	if code, _ := pc.post("/admin/logout", url.Values{"csrf_token": {good}}); code != http.StatusOK {
		t.Fatalf("logout with the token: %d", code)
	}
	if code, _ := pc.get(integrationPath(company)); code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d, want 401", code)
	}
	assertNoSecret(t, s, s.org.OrgKey)
}

// Each table pages and filters on its own, keeping the others' state.
func TestSyncPagePagesAndFilters(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	for i := 0; i < 23; i++ {
		s.failedOperation(company, fmt.Sprintf("failure %02d", i))
	}
	s.exec(`INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key, status)
		VALUES ($1, 'user', 'u1', 'user.invite', $2, 'done')`, company, uuid.NewString())
	s.exec(`INSERT INTO align_sync.webhook_deliveries (delivery_id, company_id, connection_id, event_name, status, error, payload)
		VALUES ($1, $2, $3, 'time.approved', 'failed', 'no such entry', '{}'),
		       ($4, $2, $3, 'time.rejected', 'processed', NULL, '{}')`, uuid.NewString(), company, uuid.NewString(), uuid.NewString())
	s.exec(`INSERT INTO align_sync.reconciliation_discrepancies (run_id, company_id, field, illumera_value, align_value)
		VALUES ($1, $2, 'approved_minutes', 480, 420), ($1, $2, 'approved_cost_cents', 72000, 63000)`, uuid.NewString(), company)
	pc := s.login(company, admin.RoleCompanyAdmin)

	code, body := pc.get("/admin/align-sync")
	if code != http.StatusOK || !strings.Contains(body, "<caption>Outbox queue: 24 items, page 1 of 2</caption>") ||
		!strings.Contains(body, "<caption>Webhook deliveries: 2 items, page 1 of 1</caption>") ||
		!strings.Contains(body, "<caption>Open reconciliation discrepancies: 2 items, page 1 of 1</caption>") {
		t.Fatalf("first page: %d\n%s", code, body)
	}
	if n := strings.Count(body, `<tr data-id=`); n != 20 {
		t.Fatalf("%d outbox rows on the first page, want 20", n)
	}
	code, body = pc.get("/admin/align-sync?outbox_page=2&outbox_status=failed&deliveries_status=failed&discrepancies_field=approved_minutes")
	if code != http.StatusOK || !strings.Contains(body, "<caption>Outbox queue: 23 items (status failed), page 2 of 2</caption>") ||
		strings.Count(body, `<tr data-id=`) != 3 || !strings.Contains(body, "failure 00") ||
		!strings.Contains(body, "<caption>Webhook deliveries: 1 item (status failed), page 1 of 1</caption>") ||
		!strings.Contains(body, "no such entry") || strings.Contains(body, "time.rejected") ||
		!strings.Contains(body, "<caption>Open reconciliation discrepancies: 1 item (field approved_minutes), page 1 of 1</caption>") ||
		strings.Contains(body, "72000") {
		t.Fatalf("filtered second page: %d\n%s", code, body)
	}
	for _, bad := range []string{"outbox_status=lost", "outbox_page=0", "discrepancies_field=minutes",
		"outbox_page=9223372036854775807", "deliveries_page=461168601842738792"} {
		if code, _ := pc.get("/admin/align-sync?" + bad); code != http.StatusBadRequest {
			t.Fatalf("%s: %d, want 400", bad, code)
		}
	}
	if code, body := pc.get("/admin/align-sync?discrepancies_page=9223372036854775807"); code != http.StatusBadRequest ||
		!strings.Contains(body, `discrepancies_page &#34;9223372036854775807&#34;`) {
		t.Fatalf("an overflowing page: %d, want 400 naming it\n%s", code, body)
	}
}

// A refused key is shown next to the field, worded as the guide words it,
// and neither the key nor any part of it comes back.
func TestConnectFormErrors(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	pc := s.login(company, admin.RoleCompanyAdmin)
	csrf := pc.csrf(integrationPath(company))
	project := s.projectScopedKey()
	invalid := "ako_" + strings.Repeat("n", 32)
	for _, tc := range []struct {
		key     string
		code    int
		message string
	}{
		{project.Key, http.StatusUnprocessableEntity, "This API key is project-scoped"},
		{invalid, http.StatusUnprocessableEntity, "Align API key validation failed: 401"},
		{"   ", http.StatusBadRequest, "API key is required"},
	} {
		code, body := pc.post(integrationPath(company)+"/connect", url.Values{"csrf_token": {csrf}, "api_key": {tc.key}})
		if code != tc.code || !strings.Contains(body, `<p class="field-error" id="api_key_error">`+tc.message+`</p>`) ||
			!strings.Contains(body, `aria-describedby="api_key_hint api_key_error api_key_fix"`) {
			t.Fatalf("key …%s: %d\n%s", tc.key[len(tc.key)-4:], code, body)
		}
	}
	assertNoSecret(t, s, project.Key, invalid)
}
