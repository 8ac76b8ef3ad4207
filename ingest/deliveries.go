package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// delivery is one verified webhook request to record.
type delivery struct {
	id, companyID, connectionID, eventName string
	payload                                []byte
}

// execer is a pool or a transaction.
type execer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// recordDelivery applies d and records it, atomically and exactly once per
// delivery id of its connection, in a single statement (one round trip, no explicit
// transaction): what carries the receiver's throughput.
//
// A database error that is not transient is recorded as a failed delivery,
// for Retry Failed; a transient one is returned, the caller answers 5xx and
// Align retries. When the connection turned out not to be live any more,
// nothing is kept (connectionGone).
func recordDelivery(ctx context.Context, pool *pgxpool.Pool, d delivery, data json.RawMessage) (outcome, insertResult, error) {
	w, o := plan(d.eventName, data)
	if w == nil {
		res, err := insertDelivery(ctx, pool, d, o)
		return o, res, err
	}
	o, res, err := writeAndInsert(ctx, pool, d, w)
	if err == nil || isTransient(err) {
		return o, res, err
	}
	o = failed(reasonDatabase, "writing the status back: %v", err)
	res, err = insertDelivery(ctx, pool, d, o)
	return o, res, err
}

// writeAndInsertSQL locks the company's entry linked to the Align entry,
// records the delivery with its outcome, and moves the entry forward only if
// the delivery was new: a delivery id repeated on the same connection inserts
// nothing and so changes nothing. Every decision comes from Go (allowedFrom,
// ignoredNote) as parameters:
//
//	$1 delivery id  $2 company  $3 connection  $4 event  $5 payload
//	$6 Align entry id  $7 reported status  $8 rejection reason
//	$9 statuses $7 may follow  $10 note per current status  $11 unknown-entry error
var writeAndInsertSQL = `
	WITH live AS (
	    SELECT 1 FROM align_sync.connections
	     WHERE connection_id = $3 AND company_id = $2
	       AND status <> 'disconnected' AND webhook_secret_ciphertext IS NOT NULL
	), cur AS (
	    SELECT te.id, te.status FROM time_entries te
	     WHERE te.company_id = $2 AND te.id = ` + fmt.Sprintf(linkedEntrySQL, "$2", "$6") + `
	       AND EXISTS (SELECT 1 FROM live)
	       FOR UPDATE
	), ins AS (
	    INSERT INTO align_sync.webhook_deliveries
	           (delivery_id, company_id, connection_id, event_name, status, error, note, payload, processed_at)
	    SELECT $1, $2, $3, $4,
	           CASE WHEN cur.id IS NULL THEN 'failed' ELSE 'processed' END,
	           CASE WHEN cur.id IS NULL THEN $11 END,
	           CASE WHEN cur.status <> ALL ($9::text[]) THEN $10::jsonb ->> cur.status END,
	           $5, now()
	      FROM live LEFT JOIN cur ON true
	    ON CONFLICT (connection_id, delivery_id) DO NOTHING
	    RETURNING 1
	), upd AS (
	    UPDATE time_entries t
	       SET status = $7,
	           rejection_reason = CASE WHEN $7 = 'rejected' THEN nullif($8, '') ELSE t.rejection_reason END,
	           updated_at = now()
	      FROM cur
	     WHERE t.id = cur.id AND cur.status = ANY ($9::text[]) AND EXISTS (SELECT 1 FROM ins)
	    RETURNING 1
	)
	SELECT EXISTS (SELECT 1 FROM live), EXISTS (SELECT 1 FROM ins), (SELECT status FROM cur),
	       EXISTS (SELECT 1 FROM upd)`

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

// writeAndInsert runs writeAndInsertSQL for a write-back delivery.
func writeAndInsert(ctx context.Context, pool *pgxpool.Pool, d delivery, w *write) (outcome, insertResult, error) {
	unknown := w.unknownEntry()
	var live, added, applied bool
	var current *string
	err := pool.QueryRow(ctx, writeAndInsertSQL,
		d.id, d.companyID, d.connectionID, d.eventName, json.RawMessage(d.payload),
		w.alignID, w.next, w.reason, allowedFrom(w.next), notesFor(w.next), unknown.err,
	).Scan(&live, &added, &current, &applied)
	switch {
	case err != nil:
		return outcome{}, 0, fmt.Errorf("recording delivery: %w", err)
	case !live:
		return outcome{}, connectionGone, nil
	case !added:
		return outcome{}, duplicate, nil
	case current == nil:
		return unknown, inserted, nil
	}
	return w.result(*current, applied), inserted, nil
}

// insertResult says what insertDelivery did.
type insertResult int

const (
	inserted       insertResult = iota + 1
	duplicate                   // the connection already recorded this delivery id
	connectionGone              // the connection was disconnected or replaced meanwhile
)

// insertDelivery records d with an outcome decided beforehand, provided its
// connection is still live and its id not yet recorded. Checking the
// connection in the statement that commits the delivery (here and in
// writeAndInsertSQL) is what lets the receiver cache connections.
func insertDelivery(ctx context.Context, q execer, d delivery, o outcome) (insertResult, error) {
	var live, added bool
	err := q.QueryRow(ctx, `
		WITH live AS (
		    SELECT 1 FROM align_sync.connections
		     WHERE connection_id = $3 AND company_id = $2
		       AND status <> 'disconnected' AND webhook_secret_ciphertext IS NOT NULL
		), ins AS (
		    INSERT INTO align_sync.webhook_deliveries
		           (delivery_id, company_id, connection_id, event_name, status, error, note, payload, processed_at)
		    SELECT $1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, now() FROM live
		    ON CONFLICT (connection_id, delivery_id) DO NOTHING
		    RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM live), EXISTS (SELECT 1 FROM ins)`,
		d.id, d.companyID, d.connectionID, d.eventName, o.status, o.err, o.note, json.RawMessage(d.payload)).Scan(&live, &added)
	switch {
	case err != nil:
		return 0, fmt.Errorf("recording delivery: %w", err)
	case !live:
		return connectionGone, nil
	case !added:
		return duplicate, nil
	}
	return inserted, nil
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
