package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Delivery statuses in align_sync.webhook_deliveries.
const (
	DeliveryReceived  = "received"
	DeliveryProcessed = "processed"
	DeliveryFailed    = "failed"
)

// DeliveryStatuses lists every delivery status, in the order a delivery
// takes them.
var DeliveryStatuses = []string{DeliveryReceived, DeliveryProcessed, DeliveryFailed}

// envelope is a webhook delivery (docs/align-contract.md §8). data stays raw until the
// event is known to need it.
type envelope struct {
	ID             string          `json:"id"`
	EventName      string          `json:"eventName"`
	OccurredAt     string          `json:"occurredAt"`
	OrganizationID string          `json:"organizationId"`
	Data           json.RawMessage `json:"data"`
}

// timeEntryData is the part of a time.* event's data that ingest uses.
type timeEntryData struct {
	TimeEntryID     string `json:"timeEntryId"`
	RejectionReason string `json:"rejectionReason"`
}

// outcome is what processing decided for one delivery.
type outcome struct {
	status string // processed or failed
	err    string // why it failed
	note   string // why nothing changed, when nothing did
	reason string // failure reason label
	wrote  string // the status written, when one was
}

func failed(reason, format string, args ...any) outcome {
	return outcome{status: DeliveryFailed, err: fmt.Sprintf(format, args...), reason: reason}
}

// Failure reasons, the label of alignsync_ingest_processing_failures_total.
const (
	reasonUnknownEntry = "unknown_time_entry"
	reasonInvalidData  = "invalid_data"
	reasonDatabase     = "database"
)

// write is the status write-back a time.* delivery asks for.
type write struct {
	alignID string // Align's time entry id
	next    string // the status Align reports
	reason  string // the rejection reason, for rejected
	// repairID is the delivery the status sweep records when it reads this
	// same change from Align first ("" when the event has no usable time).
	repairID string
}

// repairedNote explains a delivery whose change the status sweep applied
// before it arrived. Applying it again could undo what happened since: a
// rejection repaired, the entry resubmitted, then the rejection's late
// webhook would reject the resubmitted entry.
const repairedNote = "already applied: the status sweep read this change from Align before its webhook arrived"

// plan decides what a delivery needs without touching the database: either a
// status write-back, or an outcome already final (an event ingest does not
// handle, or data it cannot use).
func plan(eventName, occurredAt string, data json.RawMessage) (*write, outcome) {
	next, handled := eventStatus[eventName]
	if !handled {
		return nil, outcome{status: DeliveryProcessed, note: fmt.Sprintf("event %s ignored", truncate(eventName, 100))}
	}
	var d timeEntryData
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, failed(reasonInvalidData, "invalid data: %v", err)
	}
	alignID := strings.TrimSpace(d.TimeEntryID)
	if alignID == "" {
		return nil, failed(reasonInvalidData, "invalid data: no timeEntryId")
	}
	w := &write{alignID: alignID, next: next, reason: d.RejectionReason}
	if at, err := time.Parse(time.RFC3339Nano, occurredAt); err == nil {
		w.repairID = repairedDeliveryID(alignID, next, at)
	}
	return w, outcome{}
}

// repaired reports whether the status sweep already applied this change
// through the connection, as the delivery repairID.
func (w *write) repaired(ctx context.Context, q execer, connectionID string) (bool, error) {
	if w.repairID == "" {
		return false, nil
	}
	var found bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM align_sync.webhook_deliveries
		WHERE connection_id = $1 AND delivery_id = $2 AND repaired)`, connectionID, w.repairID).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("looking for a repair of Align time entry %s: %w", w.alignID, err)
	}
	return found, nil
}

// planFor is plan, with a change the status sweep already applied turned
// into a final outcome.
func planFor(ctx context.Context, q execer, connectionID, eventName, occurredAt string, data json.RawMessage) (*write, outcome, error) {
	w, o := plan(eventName, occurredAt, data)
	if w == nil {
		return nil, o, nil
	}
	done, err := w.repaired(ctx, q, connectionID)
	if err != nil || !done {
		return w, o, err
	}
	return nil, outcome{status: DeliveryProcessed, note: repairedNote}, nil
}

// unknownEntry is the outcome of a write-back whose entry the company lacks.
func (w *write) unknownEntry() outcome {
	return failed(reasonUnknownEntry, "unknown time entry %s", truncate(w.alignID, 100))
}

// result turns what the write-back found into the delivery's outcome.
func (w *write) result(current string, applied bool) outcome {
	if applied {
		return outcome{status: DeliveryProcessed, wrote: w.next}
	}
	return outcome{status: DeliveryProcessed, note: ignoredNote(current, w.next)}
}

// process applies one delivery inside tx (the retry path; new deliveries take
// recordDelivery's processReceivedSQL). A returned error means the database
// failed and the transaction is unusable; every other problem is an outcome.
func process(ctx context.Context, tx pgx.Tx, companyID, connectionID, eventName, occurredAt string, data json.RawMessage) (outcome, error) {
	w, final, err := planFor(ctx, tx, connectionID, eventName, occurredAt, data)
	if err != nil {
		return outcome{}, err
	}
	if w == nil {
		return final, nil
	}
	current, applied, err := advance(ctx, tx, advanceByLink, companyID, w.alignID, w.next, w.reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return w.unknownEntry(), nil
	}
	if err != nil {
		return outcome{}, fmt.Errorf("writing the status of Align time entry %s back: %w", w.alignID, err)
	}
	return w.result(current, applied), nil
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
