package alignsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Control is a typed client for the simulator's control API (align-contract.md
// §9), for other packages' tests and demos.
type Control struct {
	base string
	hc   *http.Client
}

// NewControl returns a client for the simulator at baseURL, its root URL
// (e.g. httptest.Server.URL or "http://127.0.0.1:8089"), not the API's. A
// nil hc means a client with a 10 s timeout.
func NewControl(baseURL string, hc *http.Client) *Control {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Control{base: strings.TrimSuffix(baseURL, "/"), hc: hc}
}

// APIBaseURL is the Align API base URL to give the client under test.
func (c *Control) APIBaseURL() string { return c.base + APIPrefix }

// ControlError is a non-2xx answer of the simulator.
type ControlError struct {
	StatusCode int
	Code       string
	Message    string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("alignsim: %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// CreateOrg creates an organization, its manager user and an organization
// key.
func (c *Control) CreateOrg(ctx context.Context, name string, timeTracking bool) (Org, error) {
	var out Org
	err := c.do(ctx, http.MethodPost, "/orgs", map[string]any{"name": name, "timeTracking": timeTracking}, &out)
	return out, err
}

// MintKey mints a key in orgID.
func (c *Control) MintKey(ctx context.Context, orgID string, req KeyRequest) (Key, error) {
	var out Key
	err := c.do(ctx, http.MethodPost, "/orgs/"+url.PathEscape(orgID)+"/keys", req, &out)
	return out, err
}

// RevokeKey revokes a key: it then answers 401 key_revoked.
func (c *Control) RevokeKey(ctx context.Context, apiKeyID string) error {
	return c.do(ctx, http.MethodPost, "/keys/"+url.PathEscape(apiKeyID)+"/revoke", nil, nil)
}

// Approve moves a submitted entry to approved, as an Align manager.
func (c *Control) Approve(ctx context.Context, timeEntryID string) (TimeEntry, error) {
	return c.managerAction(ctx, timeEntryID, "approve", nil)
}

// Reject moves a submitted entry to rejected with a (required) reason.
func (c *Control) Reject(ctx context.Context, timeEntryID, reason string) (TimeEntry, error) {
	return c.managerAction(ctx, timeEntryID, "reject", map[string]string{"reason": reason})
}

// Lock moves an approved entry to locked.
func (c *Control) Lock(ctx context.Context, timeEntryID string) (TimeEntry, error) {
	return c.managerAction(ctx, timeEntryID, "lock", nil)
}

// Invoice moves a locked entry to invoiced.
func (c *Control) Invoice(ctx context.Context, timeEntryID string) (TimeEntry, error) {
	return c.managerAction(ctx, timeEntryID, "invoice", nil)
}

func (c *Control) managerAction(ctx context.Context, id, action string, body any) (TimeEntry, error) {
	var out TimeEntry
	err := c.do(ctx, http.MethodPost, "/time-entries/"+url.PathEscape(id)+"/"+action, body, &out)
	return out, err
}

// SetFaults merges the non-nil fields of f into the fault settings and
// returns the settings now in force.
func (c *Control) SetFaults(ctx context.Context, f Faults) (FaultSettings, error) {
	var out FaultSettings
	err := c.do(ctx, http.MethodPut, "/faults", f, &out)
	return out, err
}

// Faults returns the fault settings in force.
func (c *Control) Faults(ctx context.Context) (FaultSettings, error) {
	var out FaultSettings
	err := c.do(ctx, http.MethodGet, "/faults", nil, &out)
	return out, err
}

// SetWebhookSchedule sets the retry delays, in milliseconds, of deliveries
// scheduled from now on; their count is the number of retries.
func (c *Control) SetWebhookSchedule(ctx context.Context, retryDelaysMs []int) error {
	if retryDelaysMs == nil {
		retryDelaysMs = []int{}
	}
	return c.do(ctx, http.MethodPut, "/webhook-schedule", map[string][]int{"retryDelaysMs": retryDelaysMs}, nil)
}

// WebhookSchedule returns the retry delays in milliseconds.
func (c *Control) WebhookSchedule(ctx context.Context) ([]int, error) {
	var out struct {
		RetryDelaysMs []int `json:"retryDelaysMs"`
	}
	err := c.do(ctx, http.MethodGet, "/webhook-schedule", nil, &out)
	return out.RetryDelaysMs, err
}

// State dumps one organization.
func (c *Control) State(ctx context.Context, orgID string) (State, error) {
	var out State
	err := c.do(ctx, http.MethodGet, "/state?org="+url.QueryEscape(orgID), nil, &out)
	return out, err
}

// States dumps every organization, keyed by organization id.
func (c *Control) States(ctx context.Context) (map[string]State, error) {
	var out map[string]State
	err := c.do(ctx, http.MethodGet, "/state", nil, &out)
	return out, err
}

// Reset empties the simulator and restores the default faults and retry
// schedule; keys minted before stop working.
func (c *Control) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/reset", nil, nil)
}

func (c *Control) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+controlPrefix+path, body)
	if err != nil {
		return fmt.Errorf("building %s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("calling alignsim %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading alignsim %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return controlError(resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding alignsim %s %s: %w", method, path, err)
	}
	return nil
}

func controlError(status int, raw []byte) error {
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &eb) != nil || eb.Error.Code == "" {
		return &ControlError{StatusCode: status, Message: strings.TrimSpace(string(raw))}
	}
	return &ControlError{StatusCode: status, Code: eb.Error.Code, Message: eb.Error.Message}
}
