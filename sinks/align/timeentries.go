package align

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// TimeEntryStatus is a step of the time-entry lifecycle:
// draft → submitted → approved | rejected, rejected → submitted, approved → locked → invoiced.
// The integration only ever sets submitted; Align's managers do the rest.
type TimeEntryStatus string

const (
	StatusDraft     TimeEntryStatus = "draft"
	StatusSubmitted TimeEntryStatus = "submitted"
	StatusApproved  TimeEntryStatus = "approved"
	StatusRejected  TimeEntryStatus = "rejected"
	StatusLocked    TimeEntryStatus = "locked"
	StatusInvoiced  TimeEntryStatus = "invoiced"
)

// TimeEntry is an Align time entry. Hours is Align's canonical decimal string (see
// HoursFromMinutes); Minutes echoes what was sent.
type TimeEntry struct {
	ID               string          `json:"id"`
	ProjectID        string          `json:"projectId"`
	UserID           string          `json:"userId"`
	EntryID          string          `json:"entryId"`
	WorkDate         string          `json:"workDate"` // YYYY-MM-DD
	Hours            string          `json:"hours"`
	Minutes          int             `json:"minutes"`
	Description      string          `json:"description"`
	Billable         bool            `json:"billable"`
	Status           TimeEntryStatus `json:"status"`
	ExternalSystem   string          `json:"externalSystem"`
	ExternalID       string          `json:"externalId"`
	ExternalMetadata json.RawMessage `json:"externalMetadata"`
	CostCents        *int64          `json:"costCents"` // nil when no rate is known
	RejectionReason  string          `json:"rejectionReason"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
	// IntegrationLinks is filled only by GetIntegrationTimeEntry.
	IntegrationLinks []IntegrationLink `json:"integrationLinks,omitempty"`
}

// CreateIntegrationTimeEntryRequest is the body of POST /integration/time-entries (org key).
// Minutes must be 1–1440; the user must be a member of the project.
type CreateIntegrationTimeEntryRequest struct {
	ProjectID        string `json:"projectId"`
	UserID           string `json:"userId"`
	WorkDate         string `json:"workDate"` // YYYY-MM-DD
	Minutes          int    `json:"minutes"`
	Billable         *bool  `json:"billable,omitempty"` // default true
	Description      string `json:"description,omitempty"`
	EntryID          string `json:"entryId,omitempty"` // a UUID, stored as is
	ExternalSystem   string `json:"externalSystem"`
	ExternalID       string `json:"externalId"`
	ExternalMetadata any    `json:"externalMetadata,omitempty"` // stored as is; rateCents sets costCents
}

// TimeEntryFilter narrows a time-entry list; empty fields are not sent. Dates are YYYY-MM-DD.
type TimeEntryFilter struct {
	StartDate      string
	EndDate        string
	Status         TimeEntryStatus
	ExternalSystem string
	ProjectID      string // org-wide list only
}

func (f TimeEntryFilter) query() url.Values {
	q := url.Values{}
	setIf(q, "startDate", f.StartDate)
	setIf(q, "endDate", f.EndDate)
	setIf(q, "status", string(f.Status))
	setIf(q, "externalSystem", f.ExternalSystem)
	setIf(q, queryProjectID, f.ProjectID)
	return q
}

// CreateIntegrationTimeEntry creates a draft entry (org key). created is false when Align
// returned the existing entry of req.ExternalSystem + req.ExternalID, unchanged.
func (c *Client) CreateIntegrationTimeEntry(ctx context.Context, idemKey string, req CreateIntegrationTimeEntryRequest) (e TimeEntry, created bool, err error) {
	status, err := c.do(ctx, request{
		method: http.MethodPost, route: routeIntegrationTimeEntries, idemKey: idemKey, body: req,
	}, &e)
	return e, status == http.StatusCreated, err
}

// GetIntegrationTimeEntry returns an entry with its integration links.
func (c *Client) GetIntegrationTimeEntry(ctx context.Context, id string) (TimeEntry, error) {
	var e TimeEntry
	_, err := c.do(ctx, request{method: http.MethodGet, route: routeIntegrationTimeEntry, ids: []string{id}}, &e)
	return e, err
}

// GetTimeEntry returns an entry.
func (c *Client) GetTimeEntry(ctx context.Context, id string) (TimeEntry, error) {
	var e TimeEntry
	_, err := c.do(ctx, request{method: http.MethodGet, route: routeTimeEntry, ids: []string{id}}, &e)
	return e, err
}

// UpdateTimeEntry applies the non-nil fields of req. Edits outside draft and rejected, and any
// status but submitted, fail with 409 invalid_transition.
func (c *Client) UpdateTimeEntry(ctx context.Context, id string, req UpdateTimeEntryRequest) (TimeEntry, error) {
	var e TimeEntry
	_, err := c.do(ctx, request{
		method: http.MethodPatch, route: routeTimeEntry, ids: []string{id}, body: req,
	}, &e)
	return e, err
}

// SubmitTimeEntry moves a draft or rejected entry to submitted. Submitting an entry that is
// already submitted returns it without error, so a submit repeated after a lost response (here
// or by a caller after a crash) is harmless; any later status still fails with 409.
func (c *Client) SubmitTimeEntry(ctx context.Context, id string) (TimeEntry, error) {
	submitted := StatusSubmitted
	e, err := c.UpdateTimeEntry(ctx, id, UpdateTimeEntryRequest{Status: &submitted})
	if !IsCode(err, CodeInvalidTransition) {
		return e, err
	}
	current, getErr := c.GetTimeEntry(ctx, id)
	if getErr != nil {
		return TimeEntry{}, errors.Join(err, fmt.Errorf("checking the entry after a refused submit: %w", getErr))
	}
	if current.Status == StatusSubmitted {
		return current, nil
	}
	return current, err
}

// ListTimeEntries lists time entries across the organization (org key).
func (c *Client) ListTimeEntries(ctx context.Context, f TimeEntryFilter) iter.Seq2[TimeEntry, error] {
	return listAll[TimeEntry](ctx, c, request{method: http.MethodGet, route: routeTimeEntries, query: f.query()})
}

// ListProjectTimeEntries lists one project's time entries; f.ProjectID must be empty or
// projectID.
func (c *Client) ListProjectTimeEntries(ctx context.Context, projectID string, f TimeEntryFilter) iter.Seq2[TimeEntry, error] {
	if f.ProjectID != "" && f.ProjectID != projectID {
		return func(yield func(TimeEntry, error) bool) {
			yield(TimeEntry{}, fmt.Errorf("align: filter project %s differs from project %s", f.ProjectID, projectID))
		}
	}
	f.ProjectID = ""
	return listAll[TimeEntry](ctx, c, request{
		method: http.MethodGet, route: routeProjectTimeEntries, ids: []string{projectID}, query: f.query(),
	})
}
