package align

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRetriesRetryableStatusesThenSucceeds(t *testing.T) {
	tests := []struct {
		name     string
		failures []int
	}{
		{"503 once", []int{503}},
		{"500 then 502", []int{500, 502}},
		{"408", []int{408}},
		{"429 without Retry-After", []int{429}},
		{"four 503s within five attempts", []int{503, 503, 503, 503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(n int, r *http.Request) reply {
				if n < len(tt.failures) {
					return reply{Status: tt.failures[n], Body: apiErrBody(CodeInternal, "boom")}
				}
				return reply{Status: 200, Body: projectJSON}
			})
			c := newTestClient(t, f, nil)
			p, err := c.GetProject(context.Background(), "11111111-1111-1111-1111-111111111111")
			if err != nil {
				t.Fatalf("GetProject: %v", err)
			}
			if p.Name != "P" {
				t.Errorf("name = %q, want P", p.Name)
			}
			if got, want := len(f.requests()), len(tt.failures)+1; got != want {
				t.Errorf("attempts = %d, want %d", got, want)
			}
		})
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFake(t, func(int, *http.Request) reply {
		return reply{Status: 503, Body: apiErrBody(CodeInternal, "down")}
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.MaxAttempts = 3 })
	_, err := c.GetProject(context.Background(), "p1")
	if !IsStatus(err, 503) || !Retryable(err) {
		t.Fatalf("err = %v, want a retryable 503 APIError", err)
	}
	if got := len(f.requests()); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}
}

func TestDoesNotRetryPermanentStatuses(t *testing.T) {
	tests := []struct {
		status int
		code   string
	}{
		{400, CodeValidation},
		{401, CodeKeyRevoked},
		{402, CodeFeatureDisabled},
		{403, CodeScopeViolation},
		{404, CodeNotFound},
		{409, CodeInvalidTransition},
		{422, CodeIdempotencyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			f := newFake(t, func(int, *http.Request) reply {
				return reply{Status: tt.status, Body: apiErrBody(tt.code, "no")}
			})
			c := newTestClient(t, f, nil)
			_, _, err := c.CreateProject(context.Background(), "op-1", CreateProjectRequest{Name: "P"})
			if !IsCode(err, tt.code) || !IsStatus(err, tt.status) {
				t.Fatalf("err = %v, want %d %s", err, tt.status, tt.code)
			}
			if Retryable(err) {
				t.Errorf("Retryable(%v) = true", err)
			}
			if got := len(f.requests()); got != 1 {
				t.Errorf("attempts = %d, want 1", got)
			}
		})
	}
}

func TestRetryAfterIsWaitedOut(t *testing.T) {
	f := newFake(t, func(n int, r *http.Request) reply {
		if n == 0 {
			return reply{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: apiErrBody(CodeRateLimit, "slow down")}
		}
		return reply{Status: 200, Body: projectJSON}
	})
	c := newTestClient(t, f, nil)
	var waits []time.Duration
	c.onRetry = func(_ error, d time.Duration) { waits = append(waits, d) }
	if _, err := c.GetProject(context.Background(), "p1"); err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	if got := len(f.requests()); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
	if len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("scheduled waits = %v, want [1s] from Retry-After", waits)
	}
}

func TestRetryAfterBeyondLimitReturnsToCaller(t *testing.T) {
	f := newFake(t, func(int, *http.Request) reply {
		return reply{Status: 429, Header: map[string]string{"Retry-After": "3600"}, Body: apiErrBody(CodeRateLimit, "later")}
	})
	c := newTestClient(t, f, nil)
	_, err := c.GetProject(context.Background(), "p1")
	if !Retryable(err) || RetryAfter(err) != time.Hour {
		t.Fatalf("err = %v (RetryAfter %v), want retryable with 1h", err, RetryAfter(err))
	}
	if got := len(f.requests()); got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

func TestIdempotencyKeyIdenticalAcrossRetries(t *testing.T) {
	f := newFake(t, func(n int, r *http.Request) reply {
		if n < 2 {
			return reply{Status: 503, Body: apiErrBody(CodeInternal, "x")}
		}
		return reply{Status: 201, Body: projectJSON}
	})
	c := newTestClient(t, f, nil)
	_, created, err := c.CreateProject(context.Background(), "change-42:create-project", CreateProjectRequest{Name: "P"})
	if err != nil || !created {
		t.Fatalf("CreateProject = created %v, err %v", created, err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("attempts = %d, want 3", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("Idempotency-Key"); got != "change-42:create-project" {
			t.Errorf("attempt %d Idempotency-Key = %q", i, got)
		}
		if r.Body != reqs[0].Body {
			t.Errorf("attempt %d body %s differs from %s", i, r.Body, reqs[0].Body)
		}
	}
}

func TestEmptyIdempotencyKeyIsRejected(t *testing.T) {
	f := newFake(t, func(int, *http.Request) reply { return reply{Status: 201, Body: "{}"} })
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	posts := map[string]func() error{
		"CreateProject": func() error { _, _, err := c.CreateProject(ctx, "", CreateProjectRequest{Name: "P"}); return err },
		"InviteUser": func() error {
			_, err := c.InviteUser(ctx, "", InviteUserRequest{Email: "a@b.c", Name: "A"})
			return err
		},
		"AddMember": func() error { _, _, err := c.AddMember(ctx, "", "p1", AddMemberRequest{UserID: "u1"}); return err },
		"CreateIntegrationTimeEntry": func() error {
			_, _, err := c.CreateIntegrationTimeEntry(ctx, "", CreateIntegrationTimeEntryRequest{Minutes: 10})
			return err
		},
		"CreateWikiPage": func() error {
			_, _, err := c.CreateWikiPage(ctx, "", "p1", CreateWikiPageRequest{Title: "T"})
			return err
		},
		"CreateWebhook": func() error { _, err := c.CreateWebhook(ctx, "", CreateWebhookRequest{}); return err },
	}
	for name, call := range posts {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrMissingIdempotencyKey) || Retryable(err) {
				t.Errorf("err = %v, want permanent ErrMissingIdempotencyKey", err)
			}
		})
	}
	if got := len(f.requests()); got != 0 {
		t.Errorf("requests sent = %d, want 0", got)
	}
}

func TestMissingPathIDIsRejected(t *testing.T) {
	f := newFake(t, func(int, *http.Request) reply { return reply{Status: 204} })
	c := newTestClient(t, f, nil)
	if err := c.RemoveMember(context.Background(), "p1", ""); !errors.Is(err, ErrMissingID) {
		t.Errorf("RemoveMember with empty user = %v, want ErrMissingID", err)
	}
	if got := len(f.requests()); got != 0 {
		t.Errorf("requests sent = %d, want 0", got)
	}
}

func TestSendsAuthAndHeaders(t *testing.T) {
	f := newFake(t, func(int, *http.Request) reply {
		return reply{Status: 200, Body: `{"apiKeyId":"k1","scope":"organization","permissions":null}`}
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.UserAgent = "alignsync-test/1" })
	me, err := c.Me(context.Background())
	if err != nil {
		t.Fatalf("Me: %v", err)
	}
	if me.APIKeyID != "k1" || me.Scope != ScopeOrganization || me.Permissions != nil {
		t.Errorf("Me = %+v", me)
	}
	r := f.requests()[0]
	checks := map[string]string{
		"Authorization":   "Bearer " + testKey,
		"Accept":          "application/json",
		"User-Agent":      "alignsync-test/1",
		"Idempotency-Key": "",
		"X-Api-Key":       "",
	}
	for h, want := range checks {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if r.Method != "GET" || r.Path != "/api/v1/me" {
		t.Errorf("request = %s %s, want GET /api/v1/me", r.Method, r.Path)
	}
}

func TestContextCancellationStopsRetries(t *testing.T) {
	tests := []struct {
		name         string
		cancelAt     string // "attempt": while the 2nd attempt runs; "wait": as the 1st wait starts
		wantAttempts int
	}{
		{"during an attempt", "attempt", 2},
		{"during the backoff wait", "wait", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(int, *http.Request) reply {
				return reply{Status: 503, Body: apiErrBody(CodeInternal, "down")}
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			attempts := 0
			c := newTestClient(t, f, func(cfg *Config) {
				cfg.MaxAttempts = 10
				cfg.Observe = func(string, int, time.Duration) {
					mu.Lock()
					defer mu.Unlock()
					if attempts++; attempts == 2 && tt.cancelAt == "attempt" {
						cancel()
					}
				}
			})
			if tt.cancelAt == "wait" {
				// An hour-long wait that only the cancellation can end.
				c.retryInitial, c.retryMax = time.Hour, time.Hour
				c.onRetry = func(error, time.Duration) { cancel() }
			}
			_, err := c.GetProject(ctx, "p1")
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "503") {
				t.Fatalf("err = %v, want context.Canceled with the last 503 visible", err)
			}
			if got := len(f.requests()); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestObserverGetsTemplatedRoutes(t *testing.T) {
	f := newFake(t, func(n int, r *http.Request) reply {
		switch {
		case n == 0:
			return reply{Abort: true}
		case r.Method == http.MethodPost:
			return reply{Status: 201, Body: `{"userId":"u1","role":"developer"}`}
		default:
			return reply{Status: 204}
		}
	})
	type obs struct {
		route  string
		status int
	}
	var mu sync.Mutex
	var got []obs
	c := newTestClient(t, f, func(cfg *Config) {
		cfg.Observe = func(route string, status int, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, obs{route, status})
		}
	})
	ctx := context.Background()
	m, created, err := c.AddMember(ctx, "op-7", "22222222-2222-2222-2222-222222222222", AddMemberRequest{UserID: "u1"})
	if err != nil || !created || m.UserID != "u1" {
		t.Fatalf("AddMember = %+v created %v err %v", m, created, err)
	}
	if err := c.RemoveMember(ctx, "22222222-2222-2222-2222-222222222222", "u1"); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	want := []obs{
		{"POST /projects/:id/members", 0},
		{"POST /projects/:id/members", 201},
		{"DELETE /projects/:id/members/:userId", 204},
	}
	if len(got) != len(want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("observation %d = %v, want %v", i, got[i], want[i])
		}
	}
	if p := f.requests()[2].Path; p != "/api/v1/projects/22222222-2222-2222-2222-222222222222/members/u1" {
		t.Errorf("DELETE path = %s", p)
	}
}

func TestCreatedFlagFollowsStatus(t *testing.T) {
	for _, tt := range []struct {
		status  int
		created bool
	}{{201, true}, {200, false}} {
		f := newFake(t, func(int, *http.Request) reply { return reply{Status: tt.status, Body: projectJSON} })
		c := newTestClient(t, f, nil)
		ref := &ExternalRef{Provider: "illumera", ExternalType: "project", ExternalID: "x"}
		_, created, err := c.CreateProject(context.Background(), "op", CreateProjectRequest{Name: "P", ExternalRef: ref})
		if err != nil || created != tt.created {
			t.Errorf("status %d: created = %v err %v, want %v", tt.status, created, err, tt.created)
		}
	}
}

func TestSubmitOfSubmittedEntrySucceeds(t *testing.T) {
	entry := `{"id":"e1","status":"submitted","hours":"0.25","minutes":10}`
	f := newFake(t, func(n int, r *http.Request) reply {
		if r.Method == http.MethodPatch {
			return reply{Status: 409, Body: apiErrBody(CodeInvalidTransition, "already submitted")}
		}
		return reply{Status: 200, Body: entry}
	})
	c := newTestClient(t, f, nil)
	e, err := c.SubmitTimeEntry(context.Background(), "e1")
	if err != nil || e.Status != StatusSubmitted {
		t.Fatalf("SubmitTimeEntry = %+v, %v", e, err)
	}
	if body := f.requests()[0].Body; body != `{"status":"submitted"}` {
		t.Errorf("PATCH body = %s", body)
	}
}
