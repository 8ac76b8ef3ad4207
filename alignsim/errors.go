package alignsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Error codes of align-contract.md §1.
const (
	codeValidation             = "validation_error"
	codeUnauthorized           = "unauthorized"
	codeKeyRevoked             = "key_revoked"
	codeFeatureDisabled        = "feature_disabled"
	codeScopeViolation         = "scope_violation"
	codeInsufficientPermission = "insufficient_permission"
	codeNotFound               = "not_found"
	codeMethodNotAllowed       = "method_not_allowed"
	codeInvalidTransition      = "invalid_transition"
	codeIdempotencyMismatch    = "idempotency_mismatch"
	codeRateLimit              = "rate_limit"
	codeInternal               = "internal"
)

// apiError is an error answered to the client in the contract's shape
// {"error":{"code","message","reason"}}.
type apiError struct {
	status  int
	code    string
	message string
	reason  *string
	header  map[string]string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func errValidation(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, codeValidation, format, args...)
}

func errNotFound(format string, args ...any) *apiError {
	return newError(http.StatusNotFound, codeNotFound, format, args...)
}

func errScope(format string, args ...any) *apiError {
	return newError(http.StatusForbidden, codeScopeViolation, format, args...)
}

func errTransition(format string, args ...any) *apiError {
	return newError(http.StatusConflict, codeInvalidTransition, format, args...)
}

func errFeatureDisabled() *apiError {
	e := newError(http.StatusPaymentRequired, codeFeatureDisabled,
		"the organization does not have the time_tracking feature")
	reason := codeFeatureDisabled
	e.reason = &reason
	return e
}

func errRateLimited(retryAfter int, format string, args ...any) *apiError {
	e := newError(http.StatusTooManyRequests, codeRateLimit, format, args...)
	e.header = map[string]string{"Retry-After": strconv.Itoa(retryAfter)}
	return e
}

func errMethodNotAllowed(allow []string) *apiError {
	e := newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method not allowed on this path")
	e.header = map[string]string{"Allow": strings.Join(allow, ", ")}
	return e
}
