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
	// CodeOrganizationChanged: the key belongs to another Align organization
	// than the one the company's entity links point into, and starting over
	// was not confirmed (Options.StartOver).
	CodeOrganizationChanged = "organization_changed"
)

// Failure is a connect attempt that Align refused. Message is what the admin
// sees, verbatim from the troubleshooting guide; Fix is the guide's fix.
// Neither ever contains the key.
type Failure struct {
	Code    string
	Message string
	Fix     string
	// PreviousOrganizationID, OrganizationID and Links are set for
	// CodeOrganizationChanged: the organization the company's links point
	// into, the key's organization, and how many links there are.
	PreviousOrganizationID string
	OrganizationID         string
	Links                  int
	cause                  error
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

// organizationChanged names both organizations and both ways forward.
func organizationChanged(previous, current string, links int) *Failure {
	return &Failure{
		Code: CodeOrganizationChanged,
		Message: fmt.Sprintf("This API key belongs to Align organization %s, but this company was synced to Align organization %s "+
			"(%d entity links point there)", current, previous, links),
		Fix: fmt.Sprintf("To keep syncing into %[1]s, connect with a key of organization %[1]s. To start over in %[2]s, "+
			"confirm Start over (API: \"startOver\": true): the links to %[1]s are retired and kept for audit, nothing in %[1]s "+
			"is deleted, and projects, users and time entries are created in %[2]s as they change", previous, current),
		PreviousOrganizationID: previous,
		OrganizationID:         current,
		Links:                  links,
	}
}
