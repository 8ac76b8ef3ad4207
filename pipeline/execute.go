package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/illumera/alignsync/sinks/align"
)

// connState is what the lane knows of its company's Align connection, as of
// the WAL position readLSN.
type connState struct {
	status       string // connected, error, disconnected, or "" when none
	connectedLSN uint64
	readLSN      uint64
	loaded       time.Time
}

// syncing: a connection in error still records and parks its operations
// (they run after a reconnect and Retry Failed); without a connection, or
// after a disconnect, changes are skipped.
func (c connState) syncing() bool { return c.status == "connected" || c.status == "error" }

const connCacheTTL = time.Second

// connection returns the connection state that holds for a change committed
// at commitLSN (0: now). A state read at WAL position R already reflects
// every connect and disconnect committed before R, so it answers for any
// change below R; a later change, or an old reading, means reading again.
func (l *lane) connection(ctx context.Context, commitLSN uint64) (connState, error) {
	fresh := time.Since(l.conn.loaded) < connCacheTTL
	if fresh && (commitLSN == 0 || commitLSN < l.conn.readLSN) {
		return l.conn, nil
	}
	var status, lsn, read string
	err := l.sink.pool.QueryRow(ctx, `SELECT coalesce(c.status, ''), coalesce(c.connected_lsn, '0/0')::text,
		pg_current_wal_insert_lsn()::text
		FROM (SELECT 1) one LEFT JOIN align_sync.connections c ON c.company_id = $1`, l.companyID).Scan(&status, &lsn, &read)
	if err != nil {
		return connState{}, fmt.Errorf("reading connection of company %s: %w", l.companyID, err)
	}
	connected, err := pglogrepl.ParseLSN(lsn)
	if err != nil {
		return connState{}, fmt.Errorf("parsing connected_lsn %q: %w", lsn, err)
	}
	readAt, err := pglogrepl.ParseLSN(read)
	if err != nil {
		return connState{}, fmt.Errorf("parsing WAL position %q: %w", read, err)
	}
	l.conn = connState{status: status, connectedLSN: uint64(connected), readLSN: uint64(readAt), loaded: time.Now()}
	return l.conn, nil
}

// execute runs one operation and records its outcome. It returns an error
// only when the outcome could not be recorded (the message stays unfinished).
func (l *lane) execute(ctx context.Context, row outboxRow) error {
	if l.conn.status == "error" {
		l.block(row)
		l.record(row, "parked")
		return l.sink.outbox.failed(ctx, row.ID, "Align connection is in error: reconnect with a valid key, then Retry Failed", nil, false)
	}
	if !row.claimed {
		if err := l.sink.outbox.processing(ctx, row.ID); err != nil {
			return err
		}
		row.Attempts++
	}
	links, err := l.run(ctx, row)
	if err == nil {
		if err := l.sink.outbox.done(ctx, row, links); err != nil {
			return err
		}
		for _, k := range links {
			l.links.put(k.EntityType, k.IllumeraID, k.AlignID)
		}
		l.record(row, "done")
		return nil
	}
	return l.park(ctx, row, err)
}

// run calls Align with the company's key. A refused key is read again
// first: after a reconnect (a new key, the old one revoked) the cached client
// may be stale, and that is no reason to put the connection in error.
func (l *lane) run(ctx context.Context, row outboxRow) ([]link, error) {
	api, used, err := l.sink.client(ctx, l.companyID, false)
	if err != nil {
		return nil, err
	}
	r := runner{db: db{pool: l.sink.pool, companyID: l.companyID, links: l.links}, api: api}
	links, err := r.run(ctx, row)
	if err == nil || !align.IsAuthFailure(err) {
		return links, err
	}
	api, current, kerr := l.sink.client(ctx, l.companyID, true)
	if kerr != nil || current == used {
		return links, err
	}
	r.api = api
	return r.run(ctx, row)
}

func (l *lane) park(ctx context.Context, row outboxRow, cause error) error {
	msg := cause.Error()
	switch classify(ctx, cause) {
	case abandon:
		return ctx.Err()
	case parkAuth:
		msg = authMessage(cause)
		l.conn.status = "error"
		if err := l.sink.conns.MarkError(ctx, l.companyID, msg); err != nil {
			return err
		}
		l.sink.logger.Warn("Align refused the company's key; its operations are parked",
			slog.String("company_id", l.companyID), slog.String("error", msg))
		l.block(row)
		l.record(row, "parked")
		return l.sink.outbox.failed(ctx, row.ID, msg, nil, true)
	case parkPermanent:
		l.block(row)
		l.record(row, "failed")
		return l.sink.outbox.failed(ctx, row.ID, msg, nil, false)
	}
	next := time.Now().Add(retryDelay(row.Attempts, cause))
	l.block(row)
	l.record(row, "retry_later")
	return l.sink.outbox.failed(ctx, row.ID, msg, &next, false)
}

// authMessage words a refused key as the admin guide does.
func authMessage(err error) string {
	var apiErr *align.APIError
	if errors.As(err, &apiErr) && apiErr.Code == "key_revoked" {
		return "Align API key validation failed: 401 (key_revoked)"
	}
	return "Align API key validation failed: 401"
}
