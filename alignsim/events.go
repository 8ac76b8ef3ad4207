package alignsim

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
)

// envelope is the delivery body of align-contract.md §8.
type envelope struct {
	ID             string    `json:"id"`
	EventName      string    `json:"eventName"`
	OccurredAt     string    `json:"occurredAt"`
	OrganizationID string    `json:"organizationId"`
	Data           eventData `json:"data"`
}

type eventData struct {
	TimeEntryID     string  `json:"timeEntryId"`
	ProjectID       string  `json:"projectId"`
	UserID          string  `json:"userId"`
	Status          string  `json:"status"`
	Minutes         int     `json:"minutes"`
	CostCents       *int64  `json:"costCents"`
	ExternalSystem  *string `json:"externalSystem"`
	ExternalID      *string `json:"externalId"`
	RejectionReason *string `json:"rejectionReason"`
}

// emit fires the event of e's current status to every webhook of o that
// subscribes to it, one delivery per webhook. It runs under the lock; the
// payload is fixed now so that every attempt carries the same body.
func (s *Server) emit(o *org, e *timeEntry, now time.Time) {
	name := statusEvents[e.status]
	for _, wh := range o.webhooks {
		if !slices.Contains(wh.events, name) {
			continue
		}
		env := envelope{ID: uuid.NewString(), EventName: name, OccurredAt: stamp(now), OrganizationID: o.id,
			Data: eventData{TimeEntryID: e.id, ProjectID: e.projectID, UserID: e.userID, Status: e.status,
				Minutes: e.minutes, CostCents: e.costCents, ExternalSystem: e.externalSystem,
				ExternalID: e.externalID, RejectionReason: e.rejectionReason}}
		payload, err := json.Marshal(env)
		if err != nil { // only plain strings and numbers: cannot happen
			s.log.Error("encoding webhook payload", "error", err)
			continue
		}
		d := &delivery{id: env.ID, webhookID: wh.id, eventName: name, timeEntryID: e.id,
			occurredAt: now, payload: payload, state: DeliveryPending}
		o.deliveries = append(o.deliveries, d)
		s.schedule(wh, d)
	}
}
