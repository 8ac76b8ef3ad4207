package align

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Documented error codes; the assumed ones are in assumptions.go.
const (
	CodeValidation      = "validation_error"
	CodeUnauthorized    = "unauthorized"
	CodeKeyRevoked      = "key_revoked"
	CodeFeatureDisabled = "feature_disabled"
	CodeScopeViolation  = "scope_violation"
	CodeNotFound        = "not_found"
	CodeRateLimit       = "rate_limit"
	CodeInternal        = "internal"
)

var (
	// ErrMissingIdempotencyKey is returned, before any request, by a POST called with an empty
	// idempotency key: the key must come from the caller's operation identity so that a retry
	// after a crash reuses it, so the client never invents one.
	ErrMissingIdempotencyKey = errors.New("align: idempotency key is required")
	// ErrMissingID is returned, before any request, when an id that goes into a path is empty.
	ErrMissingID = errors.New("align: id is required")
)

// APIError is a response from Align with a status of 400 or more.
type APIError struct {
	Route      string // templated route, e.g. "POST /projects/:id/members"
	StatusCode int
	Code       string // Align's error code; empty when the body was not Align's error shape
	Message    string
	Reason     *string
	RetryAfter time.Duration // from the Retry-After header; 0 when absent
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.StatusCode)
	}
	if e.Message == "" {
		return fmt.Sprintf("align %s: %d %s", e.Route, e.StatusCode, code)
	}
	return fmt.Sprintf("align %s: %d %s: %s", e.Route, e.StatusCode, code, e.Message)
}

// transportError is a failure to get a response at all (connection refused, reset, timeout,
// body cut short). It carries no verdict from Align, so it is retryable.
type transportError struct {
	route string
	err   error
}

func (e *transportError) Error() string { return fmt.Sprintf("align %s: %v", e.route, e.err) }
func (e *transportError) Unwrap() error { return e.err }

// Retryable reports whether err is worth another attempt: network failures, 5xx, 408 and 429 are;
// every other Align answer (4xx) is permanent and would fail the same way again. Context errors
// count as retryable because the call reached no verdict; a caller that is shutting down should
// check its own context first.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		s := apiErr.StatusCode
		return s >= 500 || s == http.StatusRequestTimeout || s == http.StatusTooManyRequests
	}
	var tErr *transportError
	if errors.As(err, &tErr) {
		return true
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// IsAuthFailure reports whether Align refused the key itself (401: unknown, missing or revoked).
// No call with this key can succeed until the company reconnects, so callers park the company's
// work instead of spending attempts.
func IsAuthFailure(err error) bool {
	return IsStatus(err, http.StatusUnauthorized)
}

// IsKeyRevoked reports whether Align answered 401 key_revoked.
func IsKeyRevoked(err error) bool { return IsCode(err, CodeKeyRevoked) }

// IsNotFound reports whether Align answered 404 (absent, or not visible to this key).
func IsNotFound(err error) bool { return IsStatus(err, http.StatusNotFound) }

// IsCode reports whether err is an APIError with the given Align error code.
func IsCode(err error, code string) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Code == code
}

// IsStatus reports whether err is an APIError with the given HTTP status.
func IsStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status
}

// RetryAfter returns the wait Align asked for with err (Retry-After), or 0. Callers parking an
// operation use it as the earliest next attempt.
func RetryAfter(err error) time.Duration {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.RetryAfter
	}
	var budget *RateBudgetError
	if errors.As(err, &budget) {
		return budget.Wait
	}
	return 0
}

// IsRateLimited reports whether err says the key may not make more requests
// for now: Align's 429, or the client's own rate budget (MaxRateWait). Such
// a refusal is no fault of the call; RetryAfter says how long to wait.
func IsRateLimited(err error) bool {
	var budget *RateBudgetError
	return errors.As(err, &budget) || IsStatus(err, http.StatusTooManyRequests)
}

// apiError decodes an error response. A body that is not Align's envelope (a proxy's HTML page)
// still gives an APIError, with an empty Code and the start of the body as Message.
func (c *Client) apiError(route string, resp *http.Response, raw []byte) *APIError {
	e := &APIError{
		Route:      route,
		StatusCode: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	var env errorEnvelope
	if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.Reason = env.Error.Code, env.Error.Message, env.Error.Reason
	} else {
		e.Message = snippet(raw)
	}
	if c.apiKey != "" {
		e.Message = strings.ReplaceAll(e.Message, c.apiKey, RedactKey(c.apiKey))
	}
	return e
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(secs, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func snippet(raw []byte) string {
	const limit = 200
	s := strings.ToValidUTF8(strings.TrimSpace(string(raw)), "")
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return s
}
