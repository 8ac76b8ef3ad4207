package alignsim

import (
	"context"
	"encoding/json"
	"time"
)

// Entity types as they appear in integration links (align-contract.md §7).
const (
	entityProject   = "project"
	entityUser      = "user"
	entityTimeEntry = "time_entry"
	entityWikiPage  = "wiki_page"
)

// Key scopes (align-contract.md §2).
const (
	scopeOrganization = "organization"
	scopeProject      = "project"
)

// extRef is the identity of an entity in the caller's system; it is unique
// per organization across every entity type.
type extRef struct {
	provider     string
	externalType string
	externalID   string
}

type org struct {
	id            string
	name          string
	timeTracking  bool
	managerUserID string
	createdAt     time.Time

	projects      []*project
	users         []*user
	usersByEmail  map[string]*user // lower-cased email
	entries       []*timeEntry
	links         []*link
	linksByRef    map[extRef]*link
	linksByEntity map[string][]*link
	webhooks      []*webhook
	deliveries    []*delivery
}

type apiKey struct {
	id          string
	orgID       string
	name        string
	secret      string
	scope       string
	projectID   string   // set for project keys
	permissions []string // nil means full access within the scope
	createdBy   string
	createdAt   time.Time
	lastUsedAt  time.Time
	revoked     bool
}

type project struct {
	id                 string
	orgID              string
	name               string
	description        *string
	status             string
	timeBillingEnabled bool
	createdAt          time.Time
	updatedAt          time.Time

	members      []*member
	memberByUser map[string]*member
	entries      []*timeEntry
	wikiPages    []*wikiPage
}

type user struct {
	id        string
	orgID     string
	email     string
	name      string
	role      string
	metadata  json.RawMessage
	createdAt time.Time
}

type member struct {
	projectID string
	userID    string
	role      string
	addedAt   time.Time
}

type timeEntry struct {
	id               string
	orgID            string
	projectID        string
	userID           string
	entryID          *string
	workDate         string
	minutes          int
	description      *string
	billable         bool
	status           string
	externalSystem   *string
	externalID       *string
	externalMetadata json.RawMessage
	costCents        *int64
	rejectionReason  *string
	createdAt        time.Time
	updatedAt        time.Time
}

type wikiPage struct {
	id        string
	orgID     string
	projectID string
	title     string
	content   *string
	createdAt time.Time
	updatedAt time.Time
}

type link struct {
	ref        extRef
	entityType string
	entityID   string
	createdAt  time.Time
}

type webhook struct {
	id        string
	orgID     string
	url       string
	events    []string
	key       []byte // HMAC key: the decoded part of hmacSecret
	createdAt time.Time
}

// delivery is one webhook message; attempts, lastStatus, lastError, state
// and cancel change under the server's lock, the rest never changes.
type delivery struct {
	id          string
	webhookID   string
	eventName   string
	timeEntryID string
	occurredAt  time.Time
	payload     []byte

	attempts   int
	lastStatus int
	lastError  string
	state      string
	duplicated bool
	cancel     context.CancelFunc
}
