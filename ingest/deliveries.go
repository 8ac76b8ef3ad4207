package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/connect/credentials"
)

// delivery is one verified webhook request to record.
type delivery struct {
	id, companyID, connectionID, eventName string
	occurredAt                             string // Align's time of the event
	payload                                []byte
}

// execer is a pool or a transaction.
type execer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// recordDelivery records d and processes it, exactly once per delivery id.
// A delivery that writes a status back is committed as received first and
// processed in a second statement, so a crash in between leaves a received
// row that Align's next attempt or Retry Failed picks up; a delivery whose
// outcome needs no database (an ignored event, unusable data) is recorded
// with that outcome at once.
//
// A database error that is not transient is recorded as a failed delivery,
// for Retry Failed; a transient one is returned, the caller answers 5xx and
// Align retries. When the connection turned out not to be live any more,
// nothing is kept (connectionGone).
func recordDelivery(ctx context.Context, pool *pgxpool.Pool, d delivery, data json.RawMessage) (outcome, insertResult, error) {
	w, o, err := planFor(ctx, pool, d.connectionID, d.eventName, d.occurredAt, data)
	if err != nil {
		return outcome{}, 0, err
	}
	if w == nil {
		res, stale, err := insertDelivery(ctx, pool, d, o)
		if err == nil && stale != 0 {
			// An earlier attempt left it received; the sweep has applied its
			// change since, so it needs no write either.
			res, err = resumed, setOutcome(ctx, pool, stale, o)
		}
		return o, res, err
	}
	res, id, err := insertDelivery(ctx, pool, d, outcome{status: DeliveryReceived})
	if err != nil || res == connectionGone || id == 0 {
		return outcome{}, res, err
	}
	o, found, err := processReceived(ctx, pool, id, d.companyID, w)
	if err != nil && !isTransient(err) {
		o, found = failed(reasonDatabase, "writing the status back: %v", err), true
		err = setOutcome(ctx, pool, id, o)
	}
	if err != nil || !found {
		// found is false when another request or a retry processed it first.
		return outcome{}, duplicate, err
	}
	if res == duplicate {
		res = resumed
	}
	return o, res, nil
}

// processReceivedSQL processes a received delivery in one statement: it locks
// the delivery (while it is still received) and the company's entry linked
// to the Align entry, moves the entry forward when the lifecycle allows it,
// and records the outcome on the delivery. Every decision comes from Go
// (allowedFrom, ignoredNote) as parameters:
//
//	$1 delivery row id  $2 company  $3 Align entry id  $4 reported status
//	$5 rejection reason  $6 statuses $4 may follow  $7 note per current status
//	$8 unknown-entry error
var processReceivedSQL = `
	WITH d AS (
	    SELECT id FROM align_sync.webhook_deliveries
	     WHERE id = $1 AND status = 'received'
	       FOR UPDATE
	), cur AS (
	    SELECT te.id, te.status FROM time_entries te
	     WHERE te.company_id = $2 AND te.id = ` + fmt.Sprintf(linkedEntrySQL, "$2", "$3") + `
	       AND EXISTS (SELECT 1 FROM d)
	       FOR UPDATE
	), upd AS (
	    UPDATE time_entries t
	       SET status = $4,
	           rejection_reason = CASE WHEN $4 = 'rejected' THEN nullif($5, '') ELSE t.rejection_reason END,
	           updated_at = now()
	      FROM cur
	     WHERE t.id = cur.id AND cur.status = ANY ($6::text[])
	    RETURNING 1
	), done AS (
	    UPDATE align_sync.webhook_deliveries w
	       SET status = CASE WHEN cur.id IS NULL THEN 'failed' ELSE 'processed' END,
	           error = CASE WHEN cur.id IS NULL THEN $8 END,
	           note = CASE WHEN cur.status <> ALL ($6::text[]) THEN $7::jsonb ->> cur.status END,
	           processed_at = now()
	      FROM d LEFT JOIN cur ON true
	     WHERE w.id = d.id
	    RETURNING 1
	)
	SELECT EXISTS (SELECT 1 FROM d), (SELECT status FROM cur), EXISTS (SELECT 1 FROM upd)`

// notesFor maps every status an entry may have to the note recorded when
// next does not apply to it.
func notesFor(next string) json.RawMessage {
	notes := map[string]string{}
	for current := range rank {
		if !allowed(current, next) {
			notes[current] = ignoredNote(current, next)
		}
	}
	b, _ := json.Marshal(notes)
	return b
}

// processReceived runs processReceivedSQL for the received delivery id;
// found is false when the delivery was no longer received.
func processReceived(ctx context.Context, q execer, id int64, companyID string, w *write) (outcome, bool, error) {
	unknown := w.unknownEntry()
	var found, applied bool
	var current *string
	err := q.QueryRow(ctx, processReceivedSQL,
		id, companyID, w.alignID, w.next, w.reason, allowedFrom(w.next), notesFor(w.next), unknown.err,
	).Scan(&found, &current, &applied)
	switch {
	case err != nil:
		return outcome{}, false, fmt.Errorf("processing delivery %d: %w", id, err)
	case !found:
		return outcome{}, false, nil
	case current == nil:
		return unknown, true, nil
	}
	return w.result(*current, applied), true, nil
}

// insertResult says what insertDelivery did.
type insertResult int

const (
	inserted       insertResult = iota + 1
	duplicate                   // the delivery id was already recorded
	connectionGone              // the connection was disconnected or replaced meanwhile
	resumed                     // a repeated delivery left received by an earlier attempt, processed now
)

// insertDelivery records d with an outcome decided beforehand (received,
// when it is still to be processed), provided its connection is still live
// and its id not yet recorded. Checking the connection in the statement that
// commits the delivery is what lets the receiver cache connections.
//
// id is the row to process: the new row when o is received, or, for a
// duplicate, the earlier row of the same company if it was left received (a
// crash between recording and processing, or a transient failure); 0
// otherwise.
func insertDelivery(ctx context.Context, q execer, d delivery, o outcome) (insertResult, int64, error) {
	var live bool
	var added, stale *int64
	err := q.QueryRow(ctx, `
		WITH live AS (
		    SELECT 1 FROM align_sync.connections
		     WHERE connection_id = $3 AND company_id = $2
		       AND status <> $9 AND webhook_secret_ciphertext IS NOT NULL
		), ins AS (
		    INSERT INTO align_sync.webhook_deliveries
		           (delivery_id, company_id, connection_id, event_name, status, error, note, payload, processed_at)
		    SELECT $1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8,
		           CASE WHEN $5 <> 'received' THEN now() END
		      FROM live
		    ON CONFLICT (connection_id, delivery_id) DO NOTHING
		    RETURNING id
		)
		SELECT EXISTS (SELECT 1 FROM live), (SELECT id FROM ins),
		       (SELECT id FROM align_sync.webhook_deliveries
		         WHERE delivery_id = $1 AND connection_id = $3 AND status = 'received')`,
		d.id, d.companyID, d.connectionID, d.eventName, o.status, o.err, o.note, json.RawMessage(d.payload),
		credentials.StatusDisconnected).Scan(&live, &added, &stale)
	switch {
	case err != nil:
		return 0, 0, fmt.Errorf("recording delivery: %w", err)
	case !live:
		return connectionGone, 0, nil
	case added == nil && stale != nil:
		return duplicate, *stale, nil
	case added == nil:
		return duplicate, 0, nil
	case o.status == DeliveryReceived:
		return inserted, *added, nil
	}
	return inserted, 0, nil
}

// isTransient reports whether a database error may succeed on a later try:
// anything that is not an answer from the server, and the server's
// transaction-rollback, resource, shutdown and connection classes.
func isTransient(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	if len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "40", "53", "57", "08", "55":
		return true
	}
	return false
}

// isDataException reports a value PostgreSQL refuses (SQLSTATE class 22).
func isDataException(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && len(pgErr.Code) >= 2 && pgErr.Code[:2] == "22"
}
