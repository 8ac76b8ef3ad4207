package alignsim

import (
	"encoding/json"
	"time"
)

// The types below are what the control client decodes. They are the
// simulator's own view of Align's entities, for inspecting state in tests;
// they are deliberately not the Align client's types.

// Key scopes for KeyRequest.Scope.
const (
	ScopeOrganization = scopeOrganization
	ScopeProject      = scopeProject
)

// Delivery states (Delivery.State).
const (
	DeliveryPending   = "pending"   // waiting for its first attempt or a retry
	DeliveryDelivered = "delivered" // an attempt got a 2xx
	DeliveryFailed    = "failed"    // every attempt of the schedule failed
	DeliveryDropped   = "dropped"   // never sent (dropWebhooks) or webhook deleted while pending
)

// Org is a simulated organization with its organization key and manager.
type Org struct {
	OrganizationID string `json:"organizationId"`
	OrgKey         string `json:"orgKey"`
	ManagerUserID  string `json:"managerUserId"`
}

// KeyRequest mints a key. A nil Permissions is full access within the
// scope; see the Perm constants for the names.
type KeyRequest struct {
	Scope       string   `json:"scope"`
	ProjectID   string   `json:"projectId,omitempty"`
	Name        string   `json:"name,omitempty"`
	Permissions []string `json:"permissions"`
}

// Key is a minted API key; Key.Key is the secret.
type Key struct {
	APIKeyID string `json:"apiKeyId"`
	Key      string `json:"key"`
}

// Faults changes fault settings: only non-nil fields are sent, and the
// simulator merges them into its current settings.
type Faults struct {
	ErrorRate          *float64 `json:"errorRate,omitempty"`
	Status             *int     `json:"status,omitempty"`
	LatencyMs          *int     `json:"latencyMs,omitempty"`
	RateLimitPerMinute *int     `json:"rateLimitPerMinute,omitempty"`
	DropWebhooks       *float64 `json:"dropWebhooks,omitempty"`
	DuplicateWebhooks  *float64 `json:"duplicateWebhooks,omitempty"`
	ReorderWebhooks    *bool    `json:"reorderWebhooks,omitempty"`
}

// Ptr returns a pointer to v, for Faults fields: Ptr(0.5), Ptr(503).
func Ptr[T any](v T) *T { return &v }

// FaultSettings are the fault settings in force.
type FaultSettings struct {
	ErrorRate          float64 `json:"errorRate"`
	Status             int     `json:"status"`
	LatencyMs          int     `json:"latencyMs"`
	RateLimitPerMinute int     `json:"rateLimitPerMinute"`
	DropWebhooks       float64 `json:"dropWebhooks"`
	DuplicateWebhooks  float64 `json:"duplicateWebhooks"`
	ReorderWebhooks    bool    `json:"reorderWebhooks"`
}

// State is one organization's full dump.
type State struct {
	Projects         []Project         `json:"projects"`
	Users            []User            `json:"users"`
	Members          []Member          `json:"members"`
	TimeEntries      []TimeEntry       `json:"timeEntries"`
	WikiPages        []WikiPage        `json:"wikiPages"`
	IntegrationLinks []IntegrationLink `json:"integrationLinks"`
	Webhooks         []Webhook         `json:"webhooks"`
	Deliveries       []Delivery        `json:"deliveries"`
}

// Project is a project as GET /projects/:id shows it.
type Project struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Description        *string   `json:"description"`
	Status             string    `json:"status"`
	TimeBillingEnabled bool      `json:"timeBillingEnabled"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// User is a user as GET /users shows it, plus the metadata of its invite.
type User struct {
	ID        string          `json:"id"`
	Email     string          `json:"email"`
	Name      string          `json:"name"`
	Role      string          `json:"role"`
	Metadata  json.RawMessage `json:"metadata"`
	CreatedAt time.Time       `json:"createdAt"`
}

// Member is a project membership.
type Member struct {
	ProjectID string    `json:"projectId"`
	UserID    string    `json:"userId"`
	Role      string    `json:"role"`
	AddedAt   time.Time `json:"addedAt"`
}

// TimeEntry is a time entry as GET /time-entries/:id shows it.
type TimeEntry struct {
	ID               string          `json:"id"`
	ProjectID        string          `json:"projectId"`
	UserID           string          `json:"userId"`
	EntryID          *string         `json:"entryId"`
	WorkDate         string          `json:"workDate"`
	Hours            string          `json:"hours"`
	Minutes          int             `json:"minutes"`
	Description      *string         `json:"description"`
	Billable         bool            `json:"billable"`
	Status           string          `json:"status"`
	ExternalSystem   *string         `json:"externalSystem"`
	ExternalID       *string         `json:"externalId"`
	ExternalMetadata json.RawMessage `json:"externalMetadata"`
	CostCents        *int64          `json:"costCents"`
	RejectionReason  *string         `json:"rejectionReason"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
}

// WikiPage is a wiki page of a project.
type WikiPage struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"projectId"`
	Title     string    `json:"title"`
	Content   *string   `json:"content"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// IntegrationLink ties an externalRef to the entity it created.
type IntegrationLink struct {
	Provider        string    `json:"provider"`
	ExternalType    string    `json:"externalType"`
	ExternalID      string    `json:"externalId"`
	AlignEntityType string    `json:"alignEntityType"`
	AlignEntityID   string    `json:"alignEntityId"`
	CreatedAt       time.Time `json:"createdAt"`
}

// Webhook never carries its secret: that is shown only by POST /webhooks.
type Webhook struct {
	ID             string    `json:"id"`
	DestinationURL string    `json:"destinationUrl"`
	EventNames     []string  `json:"eventNames"`
	CreatedAt      time.Time `json:"createdAt"`
}

// Delivery is one webhook message. Attempts counts HTTP requests sent, so a
// duplicated first attempt counts two; LastStatus is 0 when the last
// attempt got no HTTP answer (LastError says why).
type Delivery struct {
	ID          string    `json:"id"`
	WebhookID   string    `json:"webhookId"`
	EventName   string    `json:"eventName"`
	TimeEntryID string    `json:"timeEntryId"`
	OccurredAt  time.Time `json:"occurredAt"`
	Attempts    int       `json:"attempts"`
	LastStatus  int       `json:"lastStatus"`
	LastError   string    `json:"lastError"`
	Delivered   bool      `json:"delivered"`
	State       string    `json:"state"`
	Duplicated  bool      `json:"duplicated"`
}
