package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/sinks/align"

	"github.com/illumera/alignsync/internal/testenv"
)

func TestConnectionLifecycleOverHTTP(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	tok := token(t, company, admin.RoleCompanyAdmin)

	var v connectionView
	if code := s.call(http.MethodGet, connPath(company), tok, nil, &v); code != 200 || v.Status != "disconnected" || v.KeyLast4 != nil {
		t.Fatalf("before connecting: %d %+v", code, v)
	}
	v = s.connect(company, s.org.OrgKey)
	k := s.org.OrgKey
	if v.Status != "connected" || *v.KeyLast4 != k[len(k)-4:] || *v.OrganizationID != s.org.OrganizationID || v.LastError != nil || v.LastSyncedAt != nil {
		t.Fatalf("connected: %+v", v)
	}
	if code := s.call(http.MethodGet, connPath(company), tok, nil, &v); code != 200 || v.Status != "connected" {
		t.Fatalf("GET: %d %+v", code, v)
	}
	if code := s.call(http.MethodDelete, connPath(company), tok, nil, &v); code != 200 || v.Status != "disconnected" {
		t.Fatalf("DELETE: %d %+v", code, v)
	}
	var e errorView
	if code := s.call(http.MethodPut, connPath(company), tok, map[string]string{}, &e); code != 400 || e.Error.Code != "validation_error" {
		t.Fatalf("PUT without a key: %d %+v", code, e)
	}
	assertNoSecret(t, s, k)
}

// Every row of the admin guide's troubleshooting table that connect owns,
// with the guide's message verbatim.
func TestTroubleshootingMessages(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	c, err := align.New(align.Config{BaseURL: s.ctl.APIBaseURL(), APIKey: s.org.OrgKey, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := c.CreateProject(ctx, uuid.NewString(), align.CreateProjectRequest{Name: "Scoped"})
	if err != nil {
		t.Fatal(err)
	}
	project := s.mint(alignsim.KeyRequest{Scope: alignsim.ScopeProject, ProjectID: p.ID})
	revoked := s.mint(alignsim.KeyRequest{})
	if err := s.ctl.RevokeKey(ctx, revoked.APIKeyID); err != nil {
		t.Fatal(err)
	}
	noWebhooks := s.mint(alignsim.KeyRequest{Permissions: []string{alignsim.PermReadProject}})

	cases := []struct {
		name, key, code, message, fix, status string
	}{
		{"project-scoped key", project.Key, "project_scoped_key", "This API key is project-scoped", "Mint a new key at Align with Organization scope", "disconnected"},
		{"invalid key", "ako_" + strings.Repeat("n", 32), "align_key_invalid", "Align API key validation failed: 401", "Mint a fresh key in Align and reconnect", "disconnected"},
		{"revoked key", revoked.Key, "align_key_invalid", "Align API key validation failed: 401 key_revoked", "Mint a fresh key in Align and reconnect", "disconnected"},
		{"webhook registration refused", noWebhooks.Key, "webhook_registration_failed", "Webhook registration failed", "Contact your Align organization admin to enable webhooks, then reconnect", "error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			company := uuid.NewString()
			tok := token(t, company, admin.RoleCompanyAdmin)
			var e errorView
			code := s.call(http.MethodPut, connPath(company), tok, map[string]string{"apiKey": tc.key}, &e)
			if code != http.StatusUnprocessableEntity || e.Error.Code != tc.code || e.Error.Message != tc.message || e.Error.Fix != tc.fix {
				t.Fatalf("got %d %+v", code, e)
			}
			var v connectionView
			s.call(http.MethodGet, connPath(company), tok, nil, &v)
			if v.Status != tc.status {
				t.Fatalf("status %+v, want %s", v, tc.status)
			}
			if tc.status == "error" && (v.LastError == nil || *v.LastError != tc.message) {
				t.Fatalf("lastError %v, want %q", v.LastError, tc.message)
			}
		})
	}
	if v := testenv.CounterValue(t, s.reg, "alignsync_connect_attempts_total", "project_scoped_key"); v != 1 {
		t.Errorf("connect attempts{project_scoped_key} = %v", v)
	}
	assertNoSecret(t, s, project.Key, revoked.Key, noWebhooks.Key)
}

// Troubleshooting: "Status shows Error after reconnecting — an outbox item
// previously failed with the old key → Retry Failed". The sink is not part
// of this package: the test stops where the sink takes over (the item is due
// again and the key it will decrypt is the new one, which Align accepts).
func TestRetryFailedAfterReconnectWithNewKey(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	company := uuid.NewString()
	tok := token(t, company, admin.RoleCompanyAdmin)
	old := s.mint(alignsim.KeyRequest{})
	s.connect(company, old.Key)

	// The old key is revoked; the sink's call fails and it reports the error.
	if err := s.ctl.RevokeKey(ctx, old.APIKeyID); err != nil {
		t.Fatal(err)
	}
	s.exec(`INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key, status, attempts, last_error, next_retry_at)
		VALUES ($1, 'project', $2, 'create', $3, 'failed', 1, 'align POST /projects: 401 key_revoked', now() + interval '1 hour')`,
		company, uuid.NewString(), uuid.NewString())
	if err := s.srv.Connections().MarkError(ctx, company, "Align API key validation failed: 401 key_revoked"); err != nil {
		t.Fatal(err)
	}
	var v connectionView
	s.call(http.MethodGet, connPath(company), tok, nil, &v)
	if v.Status != "error" {
		t.Fatalf("status %+v", v)
	}

	if v.Summary != "Error · 1 failed operation" || v.FailedOperations != 1 {
		t.Fatalf("summary %q with %d failed operations, want the failed operation named next to Error", v.Summary, v.FailedOperations)
	}

	fresh := s.mint(alignsim.KeyRequest{})
	v = s.connect(company, fresh.Key)
	if v.Status != "connected" || v.LastError != nil {
		t.Fatalf("reconnect: %+v", v)
	}
	// The guide's "Status shows Error after reconnecting": the failed
	// operation is named next to Connected, with Retry Failed one call away.
	retry := "/api/companies/" + company + "/align/sync/retry-failed"
	if v.Summary != "Connected · 1 failed operation" || v.FailedOperations != 1 || v.RetryFailed == nil || *v.RetryFailed != retry {
		t.Fatalf("after reconnecting: summary %q, %d failed, retry %v; want %q, 1, %s", v.Summary, v.FailedOperations,
			v.RetryFailed, "Connected · 1 failed operation", retry)
	}
	var reset struct {
		Reset int64 `json:"reset"`
	}
	if code := s.call(http.MethodPost, *v.RetryFailed, tok, nil, &reset); code != 200 || reset.Reset != 1 {
		t.Fatalf("retry-failed: %d %+v", code, reset)
	}
	s.call(http.MethodGet, connPath(company), tok, nil, &v)
	if v.Summary != "Connected" || v.FailedOperations != 0 || v.RetryFailed != nil {
		t.Fatalf("after Retry Failed: %+v, want plain Connected", v)
	}
	var page struct {
		Data []struct {
			Status      string     `json:"status"`
			Attempts    int        `json:"attempts"`
			NextRetryAt *time.Time `json:"nextRetryAt"`
		} `json:"data"`
	}
	s.call(http.MethodGet, "/api/companies/"+company+"/align/sync/outbox", tok, nil, &page)
	if len(page.Data) != 1 || page.Data[0].Status != "pending" || page.Data[0].NextRetryAt.After(time.Now()) {
		t.Fatalf("outbox after retry-failed: %+v", page.Data)
	}
	key, err := s.srv.Connections().APIKey(ctx, company)
	if err != nil || key != fresh.Key || key == old.Key {
		t.Fatalf("the sink would use …%s (%v), want the new key", key[max(0, len(key)-4):], err)
	}
	c, _ := align.New(align.Config{BaseURL: s.ctl.APIBaseURL(), APIKey: key, MaxAttempts: 1})
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("Align refuses the new key: %v", err)
	}
}

// assertNoSecret checks every response body and log line for any run of eight
// characters of the secrets (outside their last four).
func assertNoSecret(t *testing.T, s *stack, secrets ...string) {
	t.Helper()
	text := s.responses() + "\n" + s.logs.String()
	for _, sec := range secrets {
		for i := 0; i+8 <= len(sec)-1; i++ {
			if strings.Contains(text, sec[i:i+8]) {
				t.Errorf("part of a secret (…%s) appears in a response or log line: %q", sec[len(sec)-4:], sec[i:i+8])
				break
			}
		}
	}
}
