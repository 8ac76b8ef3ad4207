package align

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestErrorDecoding(t *testing.T) {
	reason := "feature_disabled"
	tests := []struct {
		name string
		rep  reply
		want APIError
	}{
		{
			name: "envelope with reason",
			rep:  reply{Status: 402, Body: `{"error":{"code":"feature_disabled","message":"time tracking is off","reason":"feature_disabled"}}`},
			want: APIError{StatusCode: 402, Code: CodeFeatureDisabled, Message: "time tracking is off", Reason: &reason},
		},
		{
			name: "revoked key",
			rep:  reply{Status: 401, Body: apiErrBody(CodeKeyRevoked, "key revoked")},
			want: APIError{StatusCode: 401, Code: CodeKeyRevoked, Message: "key revoked"},
		},
		{
			name: "not Align's shape",
			rep:  reply{Status: 502, Body: "<html>bad gateway</html>"},
			want: APIError{StatusCode: 502, Message: "<html>bad gateway</html>"},
		},
		{
			name: "key echoed in message is redacted",
			rep:  reply{Status: 400, Body: apiErrBody(CodeValidation, "bad key "+testKey)},
			want: APIError{StatusCode: 400, Code: CodeValidation, Message: "bad key " + RedactKey(testKey)},
		},
		{
			name: "Retry-After on 503",
			rep:  reply{Status: 503, Header: map[string]string{"Retry-After": "7"}, Body: apiErrBody(CodeInternal, "x")},
			want: APIError{StatusCode: 503, Code: CodeInternal, Message: "x", RetryAfter: 7 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(int, *http.Request) reply { return tt.rep })
			c := newTestClient(t, f, func(cfg *Config) { cfg.MaxAttempts = 1 })
			_, err := c.GetProject(context.Background(), "p1")
			var got *APIError
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if got.Route != "GET /projects/:id" || got.StatusCode != tt.want.StatusCode || got.Code != tt.want.Code ||
				got.Message != tt.want.Message || got.RetryAfter != tt.want.RetryAfter ||
				fmt.Sprint(deref(got.Reason)) != fmt.Sprint(deref(tt.want.Reason)) {
				t.Errorf("got %+v (reason %v), want %+v", *got, deref(got.Reason), tt.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error message contains the API key: %v", err)
			}
		})
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func TestRetryableClassification(t *testing.T) {
	api := func(status int) error { return &APIError{StatusCode: status} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"500", api(500), true},
		{"503 wrapped", fmt.Errorf("syncing project: %w", api(503)), true},
		{"408", api(408), true},
		{"429", api(429), true},
		{"400", api(400), false},
		{"401", api(401), false},
		{"403", api(403), false},
		{"404", api(404), false},
		{"409", api(409), false},
		{"422", api(422), false},
		{"network", &transportError{route: "GET /me", err: errors.New("connection reset")}, true},
		{"deadline", context.DeadlineExceeded, true},
		{"missing idempotency key", ErrMissingIdempotencyKey, false},
		{"decoding", errors.New("align GET /me: decoding 200 response: unexpected EOF"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestAuthFailureClassification(t *testing.T) {
	tests := []struct {
		err               error
		auth, revoked, nf bool
	}{
		{&APIError{StatusCode: 401, Code: CodeUnauthorized}, true, false, false},
		{&APIError{StatusCode: 401, Code: CodeKeyRevoked}, true, true, false},
		{&APIError{StatusCode: 403, Code: CodeScopeViolation}, false, false, false},
		{&APIError{StatusCode: 404, Code: CodeNotFound}, false, false, true},
		{errors.New("other"), false, false, false},
	}
	for _, tt := range tests {
		if IsAuthFailure(tt.err) != tt.auth || IsKeyRevoked(tt.err) != tt.revoked || IsNotFound(tt.err) != tt.nf {
			t.Errorf("%v: auth %v revoked %v notFound %v", tt.err, IsAuthFailure(tt.err), IsKeyRevoked(tt.err), IsNotFound(tt.err))
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"1":                             time.Second,
		" 30 ":                          30 * time.Second,
		"-5":                            0,
		"soon":                          0,
		"Thu, 26 Nov 2026 10:00:09 GMT": 9 * time.Second,
		"Thu, 26 Nov 2026 09:00:00 GMT": 0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNetworkErrorIsRetriedAndObservedAsZero(t *testing.T) {
	f := newFake(t, func(int, *http.Request) reply { return reply{Abort: true} })
	var statuses []int
	c := newTestClient(t, f, func(cfg *Config) {
		cfg.MaxAttempts = 2
		cfg.Observe = func(_ string, s int, _ time.Duration) { statuses = append(statuses, s) }
	})
	_, err := c.Me(context.Background())
	if err == nil || !Retryable(err) || strings.Contains(err.Error(), testKey) {
		t.Fatalf("err = %v, want a retryable network error without the key", err)
	}
	if fmt.Sprint(statuses) != "[0 0]" {
		t.Errorf("observed statuses = %v, want [0 0]", statuses)
	}
}
