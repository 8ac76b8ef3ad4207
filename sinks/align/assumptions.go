package align

import (
	"net/url"
	"strconv"
	"time"
)

// This file holds every rule of the Align contract the client depends on that Align has not
// documented (tagged [assumed] in docs/align-contract.md), so it can change in one place when Align
// confirms. Routes are all listed here, each tagged, because an undocumented path is an
// assumption too. Route templates double as the observer's bounded-cardinality route label.

const (
	routeMe                     = "/me"                           // [doc]
	routeProjects               = "/projects"                     // [doc] POST, GET
	routeProject                = "/projects/:id"                 // [assumed] GET and PATCH
	routeUsers                  = "/users"                        // [doc] GET
	routeUsersInvite            = "/users/invite"                 // [doc] POST
	routeProjectMembers         = "/projects/:id/members"         // [assumed] GET, POST
	routeProjectMember          = "/projects/:id/members/:userId" // [assumed] DELETE
	routeIntegrationTimeEntries = "/integration/time-entries"     // [doc] POST
	routeIntegrationTimeEntry   = "/integration/time-entries/:id" // [doc] GET
	routeTimeEntries            = "/time-entries"                 // [doc] GET, org-wide
	routeTimeEntry              = "/time-entries/:id"             // [doc] PATCH; GET [assumed]
	routeProjectTimeEntries     = "/projects/:id/time-entries"    // [doc] GET
	routeProjectWikiPages       = "/projects/:id/wiki-pages"      // [doc] POST, GET
	routeWikiPage               = "/wiki-pages/:id"               // [assumed] PATCH
	routeIntegrationLinks       = "/integration-links"            // [doc] GET
	routeWebhooks               = "/webhooks"                     // [doc] POST, GET
	routeWebhook                = "/webhooks/:id"                 // [assumed] DELETE
)

// listPageSize is the page size the client always asks for: the documented maximum. Align's
// default when pageSize is omitted is assumed to be 50 and anything above 100 a 400, so the client
// always sends it explicitly and never relies on the default.
const listPageSize = 100

// errorEnvelope is the assumed shape of every error body:
// {"error":{"code":"...","message":"...","reason":null}}. The codes themselves are documented.
type errorEnvelope struct {
	Error struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Reason  *string `json:"reason"`
	} `json:"error"`
}

// Error codes whose spelling is assumed; the documented ones are in errors.go.
const (
	// CodeInvalidTransition (409): a time-entry status change or edit the lifecycle forbids.
	CodeInvalidTransition = "invalid_transition"
	// CodeIdempotencyMismatch (422): an Idempotency-Key reused with a different body.
	CodeIdempotencyMismatch = "idempotency_mismatch"
	// CodeMethodNotAllowed (405): known path, wrong method.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeInsufficientPermission (403): the key's permissions list lacks what the endpoint needs.
	CodeInsufficientPermission = "insufficient_permission"
)

// ProjectStatus values: the four values are documented, their spelling is assumed.
type ProjectStatus string

const (
	ProjectActive    ProjectStatus = "active"
	ProjectOnHold    ProjectStatus = "on_hold"
	ProjectCompleted ProjectStatus = "completed"
	ProjectArchived  ProjectStatus = "archived"
)

// CreateProjectRequest is the body of POST /projects; the path is documented, the body assumed.
// Omitted fields take Align's assumed defaults: status active, timeBillingEnabled false,
// description null. A repeated ExternalRef answers 200 with the existing project, unchanged.
type CreateProjectRequest struct {
	Name               string        `json:"name"`
	Description        *string       `json:"description,omitempty"`
	Status             ProjectStatus `json:"status,omitempty"`
	TimeBillingEnabled *bool         `json:"timeBillingEnabled,omitempty"`
	ExternalRef        *ExternalRef  `json:"externalRef,omitempty"`
}

// UpdateProjectRequest is the assumed partial body of PATCH /projects/:id; nil fields are left
// unchanged.
type UpdateProjectRequest struct {
	Name               *string        `json:"name,omitempty"`
	Description        *string        `json:"description,omitempty"`
	Status             *ProjectStatus `json:"status,omitempty"`
	TimeBillingEnabled *bool          `json:"timeBillingEnabled,omitempty"`
}

// User is the assumed item of GET /users. The org's manager user is listed too.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
}

// Member is the assumed item of GET /projects/:id/members, and the assumed response body of
// POST /projects/:id/members.
type Member struct {
	UserID  string    `json:"userId"`
	Role    Role      `json:"role"`
	AddedAt time.Time `json:"addedAt"`
}

// AddMemberRequest is the assumed body of POST /projects/:id/members. An empty Role means the
// user's org role; adding an existing member with another role updates it (200). An unknown
// UserID is a 400 validation_error.
type AddMemberRequest struct {
	UserID string `json:"userId"`
	Role   Role   `json:"role,omitempty"`
}

// UpdateTimeEntryRequest is the assumed body of PATCH /time-entries/:id (the path is documented).
// Edits are allowed only while the entry is draft or rejected, else 409 invalid_transition.
// Status may only be set to submitted (from draft or rejected), in the same PATCH as edits or
// alone; hours is not accepted on PATCH, so there is no field for it.
type UpdateTimeEntryRequest struct {
	Minutes     *int             `json:"minutes,omitempty"`
	WorkDate    *string          `json:"workDate,omitempty"`
	Description *string          `json:"description,omitempty"`
	Billable    *bool            `json:"billable,omitempty"`
	Status      *TimeEntryStatus `json:"status,omitempty"`
}

// UpdateWikiPageRequest is the assumed partial body of PATCH /wiki-pages/:id.
type UpdateWikiPageRequest struct {
	Title   *string `json:"title,omitempty"`
	Content *string `json:"content,omitempty"`
}

// IntegrationLink is an item of GET /integration-links: field names documented, shape assumed.
type IntegrationLink struct {
	Provider        string    `json:"provider"`
	ExternalType    string    `json:"externalType"`
	ExternalID      string    `json:"externalId"`
	AlignEntityType string    `json:"alignEntityType"`
	AlignEntityID   string    `json:"alignEntityId"`
	CreatedAt       time.Time `json:"createdAt"`
}

// Align entity types of an integration link. An entry created with externalSystem/externalId
// gets a link with ExternalType "time_entry" (assumed).
const (
	EntityProject   = "project"
	EntityUser      = "user"
	EntityTimeEntry = "time_entry"
	EntityWikiPage  = "wiki_page"
)

// LinkFilter narrows GET /integration-links; the three filter names are assumed. Empty fields
// are not sent.
type LinkFilter struct {
	Provider     string
	ExternalType string
	ExternalID   string
}

func (f LinkFilter) query() url.Values {
	q := url.Values{}
	setIf(q, "provider", f.Provider)
	setIf(q, "externalType", f.ExternalType)
	setIf(q, "externalId", f.ExternalID)
	return q
}

// queryProjectID filters the org-wide GET /time-entries by project (assumed; the other filter
// names are documented). startDate and endDate are assumed inclusive, on workDate.
const queryProjectID = "projectId"

// HoursFromMinutes returns Align's canonical hours string for a duration in minutes: the
// documented rounding to the nearest 0.25 h, never below "0.25" for minutes >= 1, written in the
// assumed format (shortest decimal: "2", "2.5", "0.25"). Minutes below 1 give "0".
func HoursFromMinutes(minutes int) string {
	if minutes < 1 {
		return "0"
	}
	// minutes/15 never ends in exactly .5 for whole minutes, so there are no ties to break.
	quarters := max((minutes+7)/15, 1)
	whole := strconv.Itoa(quarters / 4)
	return whole + [...]string{"", ".25", ".5", ".75"}[quarters%4]
}
