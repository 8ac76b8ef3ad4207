package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Time entry statuses of Illumera's time_entries.status. Illumera's app
// writes draft and submitted; the others come back from Align, written here
// (the receiver and ApplyRepair), which is why the lifecycle lives in this
// package.
const (
	StatusDraft     = "draft"
	StatusSubmitted = "submitted"
	StatusApproved  = "approved"
	StatusRejected  = "rejected"
	StatusLocked    = "locked"
	StatusInvoiced  = "invoiced"
)

// ErrUnknownTimeEntry is returned when the company has no such time entry.
var ErrUnknownTimeEntry = errors.New("unknown time entry")

// rank orders the lifecycle. rejected sits beside submitted: Align only
// approves a rejected entry after it was submitted again, so an approval that
// arrives after a rejection is news, never a late event.
var rank = map[string]int{
	StatusDraft:     0,
	StatusSubmitted: 1,
	StatusRejected:  1,
	StatusApproved:  2,
	StatusLocked:    3,
	StatusInvoiced:  4,
}

// Rank is status's place in the lifecycle (draft 0, submitted and rejected
// 1, approved 2, locked 3, invoiced 4) and whether it is a time entry status
// at all; reconciliation compares Illumera's and Align's statuses with it.
func Rank(status string) (int, bool) {
	r, ok := rank[status]
	return r, ok
}

// allowed reports whether an entry in status current may take status next:
// forward only (submitted < approved < locked < invoiced), and rejected only
// from submitted.
func allowed(current, next string) bool {
	if next == StatusRejected {
		return current == StatusSubmitted
	}
	rc, ok := rank[current]
	return ok && rank[next] > rc
}

// allowedFrom lists the statuses from which next may be taken.
func allowedFrom(next string) []string {
	var from []string
	for s := range rank {
		if allowed(s, next) {
			from = append(from, s)
		}
	}
	return from
}

// ignoredNote explains why a status was not applied.
func ignoredNote(current, next string) string {
	switch {
	case current == next:
		return fmt.Sprintf("time entry already %s", current)
	case next == StatusRejected:
		return fmt.Sprintf("time entry is %s; rejected applies only to a submitted entry, ignored", current)
	default:
		return fmt.Sprintf("time entry is already %s; %s would move it backwards, ignored", current, next)
	}
}

// AdvanceStatus moves one of the company's time entries to newStatus when
// that is forward (submitted < approved < locked < invoiced; rejected only
// from submitted, storing rejectionReason), inside the caller's transaction.
// A status that would move the entry backwards, or that it already has,
// changes nothing and is explained in note. An entry the company does not own
// gives ErrUnknownTimeEntry.
//
// Reconciliation's repair uses it; the webhook receiver follows the same
// lifecycle (allowedFrom, ignoredNote) with the entry found through its
// entity link.
func AdvanceStatus(ctx context.Context, tx pgx.Tx, companyID, illumeraEntryID, newStatus, rejectionReason string) (note string, err error) {
	if _, known := rank[newStatus]; !known || newStatus == StatusDraft {
		return "", fmt.Errorf("advancing time entry %s: %q is not a status Align reports", illumeraEntryID, newStatus)
	}
	company, err1 := uuid.Parse(companyID)
	entry, err2 := uuid.Parse(illumeraEntryID)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("%w %s", ErrUnknownTimeEntry, illumeraEntryID)
	}
	current, applied, err := advance(ctx, tx, advanceByID, company, entry, newStatus, rejectionReason)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w %s", ErrUnknownTimeEntry, illumeraEntryID)
	}
	if err != nil {
		return "", fmt.Errorf("advancing time entry %s to %s: %w", illumeraEntryID, newStatus, err)
	}
	if applied {
		return "", nil
	}
	return ignoredNote(current, newStatus), nil
}

// advanceSQL locks the company's entry chosen by %s, moves it to $3 when its
// status is one of $5, and returns the status it had and whether it moved.
const advanceSQL = `
	WITH cur AS (
	    SELECT id, status FROM time_entries
	     WHERE company_id = $1 AND id = %s
	       FOR UPDATE
	), upd AS (
	    UPDATE time_entries t
	       SET status = $3,
	           rejection_reason = CASE WHEN $3 = 'rejected' THEN nullif($4, '') ELSE t.rejection_reason END,
	           updated_at = now()
	      FROM cur
	     WHERE t.id = cur.id AND cur.status = ANY ($5::text[])
	    RETURNING t.id
	)
	SELECT cur.status, EXISTS (SELECT 1 FROM upd) FROM cur`

var (
	// advanceByID: $2 is the Illumera entry id.
	advanceByID = fmt.Sprintf(advanceSQL, "$2::uuid")
	// advanceByLink: $2 is the Align entry id.
	advanceByLink = fmt.Sprintf(advanceSQL, fmt.Sprintf(linkedEntrySQL, "$1", "$2"))
)

// linkedEntrySQL is the Illumera entry linked to an Align time entry in a
// company (the two %s are the company and Align id parameters); a link whose
// Illumera id is not a UUID matches nothing.
const linkedEntrySQL = `(
	    SELECT CASE WHEN l.illumera_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
	                THEN l.illumera_id::uuid END
	      FROM align_sync.entity_links l
	     WHERE l.company_id = %s AND l.entity_type = 'time_entry' AND l.align_id = %s
	     ORDER BY l.created_at
	     LIMIT 1)`

// advance runs one of the advance statements; pgx.ErrNoRows means no entry.
func advance(ctx context.Context, tx pgx.Tx, sql string, companyID, entry any, next, reason string) (string, bool, error) {
	var current string
	var applied bool
	err := tx.QueryRow(ctx, sql, companyID, entry, next, reason, allowedFrom(next)).Scan(&current, &applied)
	return current, applied, err
}
