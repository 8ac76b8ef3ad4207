package capture

import (
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
)

// Why a slot can no longer give capture every change: the values of
// SlotLostError.Reason and of the slot_lost metric's reason label.
const (
	SlotInvalidated = "invalidated" // PostgreSQL removed WAL the slot needed (max_slot_wal_keep_size)
	SlotDropped     = "dropped"     // the slot is gone
	SlotMoved       = "moved"       // the slot stands past what capture confirmed: re-created, or read by another client
)

// slotLostReasons are every Reason, for the metric's series.
var slotLostReasons = []string{SlotInvalidated, SlotDropped, SlotMoved}

// ResyncMargin is how far before capture's last confirmed position a resync
// should start: rows carry the time their transaction began (updated_at =
// now()), which may precede the commit by as long as a transaction runs, and
// a resync of rows that did reach Kafka only costs idempotent operations.
const ResyncMargin = time.Hour

// SlotLostError says that changes capture has not read can no longer be read
// from its replication slot. Capture stops rather than go on from wherever
// the slot stands now, which would skip them silently; Recovery names what
// the operator runs to close the gap.
type SlotLostError struct {
	Slot   string
	Reason string // SlotInvalidated, SlotDropped or SlotMoved
	Detail string // what capture found
	// Confirmed is the last position capture recorded as confirmed to the
	// slot and ConfirmedAt when; zero when it has no record.
	Confirmed   pglogrepl.LSN
	ConfirmedAt time.Time
}

func (e *SlotLostError) Error() string {
	return fmt.Sprintf("replication slot %s %s: %s. %s", e.Slot, e.Detail, e.gap(), e.Recovery())
}

func (e *SlotLostError) gap() string {
	if e.Confirmed == 0 {
		return "changes committed since capture last streamed from it are not in Kafka and never will be"
	}
	return fmt.Sprintf("changes committed after %s (confirmed at %s) are not in Kafka and never will be",
		e.Confirmed, e.ConfirmedAt.UTC().Format(time.RFC3339))
}

// ResyncSince is the --since for alignsync resync: ResyncMargin before the
// last confirmation, to the minute; zero when capture has no record of it.
func (e *SlotLostError) ResyncSince() time.Time {
	if e.ConfirmedAt.IsZero() {
		return time.Time{}
	}
	return e.ConfirmedAt.Add(-ResyncMargin).UTC().Truncate(time.Minute)
}

// Recovery is what the operator runs, in order.
func (e *SlotLostError) Recovery() string {
	since := "<a time before capture last streamed>"
	if t := e.ResyncSince(); !t.IsZero() {
		since = t.Format(time.RFC3339)
	}
	return fmt.Sprintf("To recover: run `alignsync capture --recreate-slot` (same --slot and connection settings), "+
		"start capture again, then run `alignsync resync --since %s` so the sinks send the current state of "+
		"every row changed in the gap (README: \"When the replication slot is lost\")", since)
}

// slotState is a replication slot as pg_replication_slots shows it.
type slotState struct {
	exists    bool
	plugin    string
	database  string
	walStatus string // reserved, extended, unreserved or lost
	confirmed pglogrepl.LSN
	active    bool
}

// diagnose decides whether the slot can still give capture every change it
// has not confirmed, given capture's own record of what it confirmed (rec)
// and, for a slot that does not exist, whether capture produced from an
// earlier one (history). A slot standing before the record is not a loss:
// PostgreSQL 15 persists a position that only moved confirmed_flush_lsn at
// its next restart_lsn update, so after a server restart the slot sends a
// little again, and consumers dedupe it.
func diagnose(slot string, s slotState, rec position, history bool) *SlotLostError {
	lost := &SlotLostError{Slot: slot, Confirmed: rec.LSN, ConfirmedAt: rec.At}
	switch {
	case s.exists && s.walStatus == "lost":
		lost.Reason = SlotInvalidated
		lost.Detail = "was invalidated by PostgreSQL (wal_status lost): it held more WAL than max_slot_wal_keep_size allows"
	case !s.exists && rec.known():
		lost.Reason = SlotDropped
		lost.Detail = "no longer exists, though capture confirmed positions from it"
	case !s.exists && history:
		lost.Reason = SlotDropped
		lost.Detail = "does not exist, though the change topic holds changes captured from an earlier slot"
	case s.exists && rec.known() && s.confirmed > rec.LSN:
		lost.Reason = SlotMoved
		lost.Detail = fmt.Sprintf("stands at %s, past the %s capture last confirmed: it was re-created, "+
			"or another client consumed from it", s.confirmed, rec.LSN)
	default:
		return nil
	}
	return lost
}
