package connect

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/illumera/alignsync/sinks/align"
)

// Failure codes: why Align refused a connection. The admin API turns each into
// an HTTP status; the messages are the ones the admin guide's troubleshooting
// table shows.
const (
	CodeKeyInvalid       = "align_key_invalid"           // GET /me answered 4xx
	CodeProjectScoped    = "project_scoped_key"          // the key is project-scoped
	CodeWebhookFailed    = "webhook_registration_failed" // POST /webhooks failed
	CodeAlignUnavailable = "align_unavailable"           // GET /me got no verdict (5xx, 429, network)
)

// Failure is a connect attempt that Align refused. Message is what the admin
// sees, verbatim from the troubleshooting guide; Fix is the guide's fix.
// Neither ever contains the key.
type Failure struct {
	Code    string
	Message string
	Fix     string
	cause   error
}

func (f *Failure) Error() string { return f.Message }
func (f *Failure) Unwrap() error { return f.cause }

func projectScoped() *Failure {
	return &Failure{
		Code:    CodeProjectScoped,
		Message: "This API key is project-scoped",
		Fix:     "Mint a new key at Align with Organization scope",
	}
}

func webhookFailed(cause error) *Failure {
	return &Failure{
		Code:    CodeWebhookFailed,
		Message: "Webhook registration failed",
		Fix:     "Contact your Align organization admin to enable webhooks, then reconnect",
		cause:   cause,
	}
}

// meFailed classifies a failed GET /me: "Align API key validation failed: 401"
// for an unknown key, the code appended for any other Align code
// ("... 401 key_revoked").
func meFailed(err error) *Failure {
	var apiErr *align.APIError
	if !errors.As(err, &apiErr) {
		return &Failure{
			Code:    CodeAlignUnavailable,
			Message: "Align API key validation failed: Align did not answer",
			Fix:     "Try again in a few minutes",
			cause:   err,
		}
	}
	msg := "Align API key validation failed: " + strconv.Itoa(apiErr.StatusCode)
	if apiErr.Code != "" && apiErr.Code != align.CodeUnauthorized {
		msg += " " + apiErr.Code
	}
	if apiErr.StatusCode >= 500 || apiErr.StatusCode == 429 {
		return &Failure{Code: CodeAlignUnavailable, Message: msg, Fix: "Try again in a few minutes", cause: err}
	}
	return &Failure{Code: CodeKeyInvalid, Message: msg, Fix: "Mint a fresh key in Align and reconnect", cause: err}
}

func malformedKey(err error) *Failure {
	return &Failure{
		Code:    CodeKeyInvalid,
		Message: "Align API key validation failed: malformed key",
		Fix:     "Paste the key exactly as Align showed it",
		cause:   err,
	}
}

func unexpectedScope(scope string) *Failure {
	return &Failure{
		Code:    CodeKeyInvalid,
		Message: fmt.Sprintf("Align API key validation failed: unexpected scope %q", scope),
		Fix:     "Mint a new key at Align with Organization scope",
	}
}
