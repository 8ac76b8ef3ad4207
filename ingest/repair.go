package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Repair is a time entry status read from Align that no webhook brought.
type Repair struct {
	CompanyID       string
	EntryID         string // Illumera's time entry
	AlignEntryID    string
	Status          string // Align's status
	RejectionReason string // Align's, for rejected
	// SeenUpdatedAt is the entry's updated_at when Align was read: a change
	// in Illumera since then (a resubmission) wins over what was read.
	SeenUpdatedAt time.Time
	// AlignUpdatedAt identifies the change at Align, so one change is
	// recorded once however often it is read.
	AlignUpdatedAt time.Time
	Payload        json.RawMessage // what Align answered; stored as the delivery's payload
}

// repairNote explains a repaired delivery to the admin.
const repairNote = "repaired: no webhook brought this status; it was read from Align"

// ApplyRepair writes r's status back inside the caller's transaction exactly
// as a webhook delivery of it would be (AdvanceStatus: monotonic, rejection
// reason included) and, when the entry moved, records a processed delivery
// marked repaired. The returned note says why nothing changed, when nothing
// did; an entry the company does not own gives ErrUnknownTimeEntry.
func ApplyRepair(ctx context.Context, tx pgx.Tx, r Repair) (note string, err error) {
	company, err1 := uuid.Parse(r.CompanyID)
	entry, err2 := uuid.Parse(r.EntryID)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("%w %s", ErrUnknownTimeEntry, r.EntryID)
	}
	var updatedAt time.Time
	err = tx.QueryRow(ctx, `SELECT updated_at FROM time_entries WHERE company_id = $1 AND id = $2 FOR UPDATE`,
		company, entry).Scan(&updatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w %s", ErrUnknownTimeEntry, r.EntryID)
	}
	if err != nil {
		return "", fmt.Errorf("locking time entry %s: %w", r.EntryID, err)
	}
	if !updatedAt.Equal(r.SeenUpdatedAt) {
		return "time entry changed in Illumera since Align was read; left for the next check", nil
	}
	note, err = AdvanceStatus(ctx, tx, r.CompanyID, r.EntryID, r.Status, r.RejectionReason)
	if err != nil || note != "" {
		return note, err
	}
	payload := r.Payload
	if len(payload) == 0 {
		payload = json.RawMessage(`{}`)
	}
	deliveryID := repairedDeliveryID(r.AlignEntryID, r.Status, r.AlignUpdatedAt)
	_, err = tx.Exec(ctx, `
		INSERT INTO align_sync.webhook_deliveries
		       (delivery_id, company_id, connection_id, event_name, status, note, payload, processed_at, repaired)
		SELECT $1, company_id, connection_id, $3, 'processed', $4, $5, now(), true
		  FROM align_sync.connections WHERE company_id = $2
		ON CONFLICT (connection_id, delivery_id) DO NOTHING`,
		deliveryID, r.CompanyID, "time."+r.Status, repairNote, payload)
	if err != nil {
		return "", fmt.Errorf("recording the repaired status of time entry %s: %w", r.EntryID, err)
	}
	return "", nil
}

// repairedDeliveryID names the delivery a repair records: Align's entry, the
// status, and when Align made the change. It is also how the change's own
// webhook, arriving later, is known to bring nothing new: Align's updatedAt
// at a status change is the event's occurredAt (assumed; where it is not, a
// late webhook is applied as any other).
func repairedDeliveryID(alignEntryID, status string, changedAt time.Time) string {
	return fmt.Sprintf("repair:%s:%s:%s", alignEntryID, status, changedAt.UTC().Format(time.RFC3339Nano))
}
