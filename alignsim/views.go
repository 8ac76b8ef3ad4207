package alignsim

import (
	"encoding/json"
	"time"
)

// The views below are the wire shapes of align-contract.md; records are never
// marshalled directly so that internal fields cannot leak.

// stamp formats RFC 3339 UTC with millisecond precision (align-contract.md §1).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type listView struct {
	Data     any `json:"data"`
	Page     int `json:"page"`
	PageSize int `json:"pageSize"`
	Total    int `json:"total"`
}

type projectView struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	Description        *string `json:"description"`
	Status             string  `json:"status"`
	TimeBillingEnabled bool    `json:"timeBillingEnabled"`
	CreatedAt          string  `json:"createdAt"`
	UpdatedAt          string  `json:"updatedAt"`
}

func viewProject(p *project) projectView {
	return projectView{p.id, p.name, p.description, p.status, p.timeBillingEnabled, stamp(p.createdAt), stamp(p.updatedAt)}
}

type userView struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	CreatedAt string `json:"createdAt"`
}

func viewUser(u *user) userView {
	return userView{u.id, u.email, u.name, u.role, stamp(u.createdAt)}
}

type memberView struct {
	UserID  string `json:"userId"`
	Role    string `json:"role"`
	AddedAt string `json:"addedAt"`
}

func viewMember(m *member) memberView { return memberView{m.userID, m.role, stamp(m.addedAt)} }

type entryView struct {
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
	CreatedAt        string          `json:"createdAt"`
	UpdatedAt        string          `json:"updatedAt"`
}

func viewEntry(e *timeEntry) entryView {
	return entryView{
		ID: e.id, ProjectID: e.projectID, UserID: e.userID, EntryID: e.entryID,
		WorkDate: e.workDate, Hours: hoursFromMinutes(e.minutes), Minutes: e.minutes,
		Description: e.description, Billable: e.billable, Status: e.status,
		ExternalSystem: e.externalSystem, ExternalID: e.externalID,
		ExternalMetadata: e.externalMetadata, CostCents: e.costCents,
		RejectionReason: e.rejectionReason,
		CreatedAt:       stamp(e.createdAt), UpdatedAt: stamp(e.updatedAt),
	}
}

type wikiView struct {
	ID        string  `json:"id"`
	ProjectID string  `json:"projectId"`
	Title     string  `json:"title"`
	Content   *string `json:"content"`
	CreatedAt string  `json:"createdAt"`
	UpdatedAt string  `json:"updatedAt"`
}

func viewWikiPage(w *wikiPage) wikiView {
	return wikiView{w.id, w.projectID, w.title, w.content, stamp(w.createdAt), stamp(w.updatedAt)}
}

type linkView struct {
	Provider        string `json:"provider"`
	ExternalType    string `json:"externalType"`
	ExternalID      string `json:"externalId"`
	AlignEntityType string `json:"alignEntityType"`
	AlignEntityID   string `json:"alignEntityId"`
	CreatedAt       string `json:"createdAt"`
}

func viewLink(l *link) linkView {
	return linkView{l.ref.provider, l.ref.externalType, l.ref.externalID, l.entityType, l.entityID, stamp(l.createdAt)}
}

// webhookView never carries the secret; only the create response does.
type webhookView struct {
	ID             string   `json:"id"`
	DestinationURL string   `json:"destinationUrl"`
	EventNames     []string `json:"eventNames"`
	CreatedAt      string   `json:"createdAt"`
}

func viewWebhook(wh *webhook) webhookView {
	return webhookView{wh.id, wh.url, wh.events, stamp(wh.createdAt)}
}

// listOf answers one page of items, rendered with view.
func listOf[T, V any](items []T, pg pageReq, view func(T) V) listView {
	page := window(items, pg)
	data := make([]V, 0, len(page))
	for _, it := range page {
		data = append(data, view(it))
	}
	return listView{Data: data, Page: pg.page, PageSize: pg.size, Total: len(items)}
}
