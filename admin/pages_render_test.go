package admin

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/illumera/alignsync/connect/credentials"
)

func renderPage(t *testing.T, name string, data any) string {
	t.Helper()
	tmpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	p := &pages{s: &Server{log: slog.New(slog.DiscardHandler)}, tmpl: tmpl}
	rec := httptest.NewRecorder()
	p.render(rec, httptest.NewRequest(http.MethodGet, "/admin/", nil), http.StatusOK, name, data)
	if rec.Code != http.StatusOK {
		t.Fatalf("rendering %s: %d %s", name, rec.Code, rec.Body)
	}
	for h, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s: %s is %q, want %q", name, h, got, want)
		}
	}
	if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("%s: no script-src in the CSP", name)
	}
	return rec.Body.String()
}

func TestTemplatesRender(t *testing.T) {
	const key = "ako_0123456789abcdefghijWXYZ"
	synced := time.Date(2026, 11, 26, 14, 5, 0, 0, time.UTC)
	ref := &companyRef{ID: "6f1c2a8e-0000-4000-8000-000000000001", Name: "Acme <Federal>"}
	ch := chrome{Title: "t", Subject: "alice", CSRF: "csrf-value", Company: ref, SignedIn: true, Active: "integration"}
	hostile := `<script>alert(1)</script>`

	cases := []struct {
		name, page string
		data       any
		want       []string
		notWant    []string
	}{
		{"never connected", "integration.html", integrationView{chrome: ch, Conn: credentials.Status{Status: "disconnected"}},
			[]string{`id="connection-status" class="status status-disconnected">Disconnected<`, `type="password"`,
				`<label for="api_key">API key</label>`, `name="csrf_token" value="csrf-value"`, `>Save</button>`,
				`<th scope="row">Status</th>`, `Acme &lt;Federal&gt;`, `class="skip-link" href="#main"`},
			[]string{`id="disconnect"`, `api_key_error`}},
		{"refused key", "integration.html", integrationView{chrome: ch, Conn: credentials.Status{Status: "disconnected"},
			KeyError: &fieldError{Message: "This API key is project-scoped", Fix: "Mint a new key at Align with Organization scope"}},
			[]string{`<p class="field-error" id="api_key_error">This API key is project-scoped</p>`,
				`aria-describedby="api_key_hint api_key_error api_key_fix"`, `aria-invalid="true"`},
			nil},
		{"connected", "integration.html", integrationView{chrome: ch, Notice: notices["connected"],
			Conn: credentials.Status{Status: "connected", KeyLast4: "WXYZ", OrganizationID: "org-1", LastSyncedAt: &synced}},
			[]string{`>Connected<`, `…WXYZ`, `<code>org-1</code>`, `id="disconnect"`,
				`<time datetime="2026-11-26T14:05:00Z" title="2026-11-26 14:05:00 UTC">2026-11-26 14:05:00 UTC</time>`,
				`role="status"`, `<h2 id="replace-heading">Replace key</h2>`, `<label for="api_key">New API key</label>`,
				`type="password"`, `name="csrf_token" value="csrf-value"`, `id="replace-key">Replace key</button>`},
			[]string{`id="save"`, `id="connect-heading"`, `api_key_error`}},
		{"replacement refused", "integration.html", integrationView{chrome: ch,
			Conn:     credentials.Status{Status: "connected", KeyLast4: "WXYZ", OrganizationID: "org-1"},
			KeyError: &fieldError{Message: "Webhook registration failed", Fix: "Contact your Align organization admin"}},
			[]string{`<p class="field-error" id="api_key_error">Webhook registration failed</p>`, `id="replace-key"`,
				`aria-describedby="api_key_hint api_key_error api_key_fix"`, `aria-invalid="true"`},
			[]string{`id="save"`}},
		{"start over", "startover.html", startOverView{chrome: ch, Conn: credentials.Status{Status: "connected", OrganizationID: "org-a"},
			Previous: "org-a", New: "org-b", Links: 12, Message: "This API key belongs to Align organization org-b " + hostile},
			[]string{`<h1>Start over in another Align organization?</h1>`, `<code id="previous-organization">org-a</code>`,
				`<code id="new-organization">org-b</code>`, `The 12 entity links into <code>org-a</code> are retired`,
				`<input type="hidden" name="start_over_organization" value="org-b">`, `name="csrf_token" value="csrf-value"`,
				`<label for="api_key">API key of organization org-b</label>`, `type="password"`,
				`id="confirm-start-over">Start over in org-b</button>`, `href="/admin/companies/` + ref.ID + `/integrations/align" class="cancel"`,
				`&lt;script&gt;`, `method="post"`},
			[]string{hostile}},
		{"error", "integration.html", integrationView{chrome: ch,
			Conn: credentials.Status{Status: "error", KeyLast4: "WXYZ", LastError: hostile}},
			[]string{`>Error<`, `>Reconnect</h2>`, `&lt;script&gt;`, `Retry Failed`},
			[]string{hostile}},
		{"disconnect", "disconnect.html", disconnectView{chrome: ch, Conn: credentials.Status{Status: "connected"}},
			[]string{`<h1>Disconnect Align?</h1>`, `method="post"`, `name="csrf_token" value="csrf-value"`, `id="confirm-disconnect"`},
			nil},
		{"message", "message.html", messageView{chrome: chrome{Title: "Not allowed"}, Heading: "Not allowed", Message: hostile},
			[]string{`<h1>Not allowed</h1>`, `&lt;script&gt;`}, []string{hostile, "Sign out"}},
		{"picker", "sync.html", syncView{chrome: chrome{Title: "Align Sync", SignedIn: true, Active: "sync"}, Picker: true,
			Companies: []companyOption{{companyRef: *ref, Selected: false}}},
			[]string{`<label for="company">Company</label>`, `Acme &lt;Federal&gt;`, `Choose a company to see`},
			[]string{`outbox-table`}},
		{"sync", "sync.html", sampleSync(ch, hostile, synced),
			[]string{`<caption>Outbox queue: 1 item (status failed), page 1 of 1</caption>`, `<th scope="col">Next retry</th>`,
				`<th scope="col">Event name</th>`, `<th scope="col" class="num">Illumera value</th>`,
				`>failed</span>`, `&lt;script&gt;`, `<code>time.approved</code>`, `<code>approved_minutes</code>`,
				`>Retry Failed</button>`, `name="company" value="6f1c2a8e-0000-4000-8000-000000000001"`,
				`<option value="failed" selected>failed</option>`, `rel="next"`,
				`<input type="hidden" name="deliveries_status" value="failed">`},
			[]string{hostile}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := renderPage(t, tc.page, tc.data)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
			for _, w := range append(tc.notWant, key, key[:8], "ako_") {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in the page", w)
				}
			}
		})
	}
}

func sampleSync(ch chrome, hostile string, at time.Time) syncView {
	ch.Active = "sync"
	state := url.Values{"company": {ch.Company.ID}, "outbox_status": {"failed"}, "deliveries_status": {"failed"}}
	errText := hostile
	return syncView{
		chrome:          ch,
		Outbox:          newTableView(0, state, pageQuery{page: 1, size: pageRows, status: "failed"}, 1, "Outbox queue"),
		OutboxRows:      []outboxItem{{ID: 7, EntityType: "project", Op: "project.create", Status: "failed", Attempts: 3, Error: &errText, NextRetryAt: &at}},
		Deliveries:      newTableView(1, state, pageQuery{page: 1, size: pageRows, status: "failed"}, 45, "Webhook deliveries"),
		DeliveryRows:    []deliveryItem{{ID: 3, EventName: "time.approved", Status: "failed", ReceivedAt: at, Error: &errText}},
		Discrepancies:   newTableView(2, state, pageQuery{page: 1, size: pageRows}, 1, "Reconciliation discrepancies"),
		DiscrepancyRows: []discrepancyItem{{ID: 1, Field: "approved_minutes", IllumeraValue: 480, AlignValue: 420, DetectedAt: at}},
	}
}

func TestTableViewPages(t *testing.T) {
	state := url.Values{"company": {"c"}, "deliveries_page": {"2"}}
	v := newTableView(0, state, pageQuery{page: 2, size: 20, status: "failed"}, 45, "Outbox queue")
	if v.Pages != 3 || v.Caption != "Outbox queue: 45 items (status failed), page 2 of 3" {
		t.Fatalf("%+v", v)
	}
	if v.PrevURL != "/admin/align-sync?company=c&deliveries_page=2&outbox_page=1" ||
		v.NextURL != "/admin/align-sync?company=c&deliveries_page=2&outbox_page=3" {
		t.Fatalf("prev %s next %s", v.PrevURL, v.NextURL)
	}
	// The filter form keeps the other tables' state and resets its own page.
	want := []hiddenField{{"company", "c"}, {"deliveries_page", "2"}}
	if len(v.Hidden) != len(want) || v.Hidden[0] != want[0] || v.Hidden[1] != want[1] {
		t.Fatalf("hidden %+v", v.Hidden)
	}
	if e := newTableView(0, state, pageQuery{page: 1, size: 20}, 0, "Outbox queue"); e.Pages != 1 || e.PrevURL != "" || e.NextURL != "" {
		t.Fatalf("empty table %+v", e)
	}
}

func TestTableQuery(t *testing.T) {
	for _, tc := range []struct {
		query string
		ok    bool
	}{
		{"", true}, {"outbox_status=failed&outbox_page=3", true},
		{"outbox_status=gone", false}, {"outbox_page=0", false}, {"outbox_page=x", false},
		// 20 rows a page: the offset of page 461168601842738791 is the last that fits an int64.
		{"outbox_page=461168601842738791", true}, {"outbox_page=461168601842738792", false},
		{"outbox_page=9223372036854775807", false}, {"outbox_page=99999999999999999999", false},
	} {
		q, _ := url.ParseQuery(tc.query)
		_, err := tableQuery(q, "outbox", "outbox_status", outboxStatuses)
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.query, err)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for next, ok := range map[string]bool{
		"/admin/align-sync?company=x": true,
		"/admin/":                     true,
		"":                            false,
		"/api/companies/x":            false,
		"//evil.example/admin/":       false,
		"https://evil.example/admin/": false,
		"/admin/\\evil":               false,
		"/admin/\r\nSet-Cookie: x":    false,
	} {
		if safeNext(next) != ok {
			t.Errorf("safeNext(%q) = %v", next, !ok)
		}
	}
}

func TestFlashMessage(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		counts []string
		want   string
	}{
		{"outbox", []string{"1"}, "1 item reset to pending"},
		{"outbox", []string{"3"}, "3 items reset to pending"},
		{"outbox", []string{"0"}, "0 items reset to pending"},
		{"deliveries", []string{"2", "1", "1"}, "2 failed deliveries processed again: 1 processed, 1 failed"},
		{"outbox", []string{"<b>"}, ""},
		{"outbox", []string{"-1"}, ""},
		{"other", []string{"1"}, ""},
	} {
		if got := flashMessage(tc.kind, tc.counts); got != tc.want {
			t.Errorf("flashMessage(%s, %v) = %q, want %q", tc.kind, tc.counts, got, tc.want)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	p := &pages{csrfKey: csrfKey([]byte("0123456789abcdef0123456789abcdef"))}
	a, b := session{credential: "token-a"}, session{credential: "token-b"}
	if !p.validCSRF(a, p.csrfToken("token-a")) {
		t.Fatal("a session's own token refused")
	}
	if p.validCSRF(a, p.csrfToken("token-b")) || p.validCSRF(b, p.csrfToken("token-a")) || p.validCSRF(a, "") {
		t.Fatal("another session's token, or none, accepted")
	}
	other := &pages{csrfKey: csrfKey([]byte("another-secret-another-secret-00"))}
	if other.csrfToken("token-a") == p.csrfToken("token-a") {
		t.Fatal("the token does not depend on the secret")
	}
}
