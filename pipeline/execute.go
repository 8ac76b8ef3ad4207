package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/sinks/align"
)

// connState is what the lane knows of its company's Align connection.
type connState struct {
	status       string // connected, error, disconnected, or "" when none
	connectedLSN uint64
	loaded       time.Time
}

// syncing: a connection in error still records and parks its operations
// (they run after a reconnect and Retry Failed); without a connection, or
// after a disconnect, changes are skipped.
func (c connState) syncing() bool { return c.status == "connected" || c.status == "error" }

const connCacheTTL = time.Second

func (l *lane) connection(ctx context.Context) (connState, error) {
	if time.Since(l.conn.loaded) < connCacheTTL {
		return l.conn, nil
	}
	var status, lsn string
	err := l.sink.pool.QueryRow(ctx, `SELECT status, COALESCE(connected_lsn, '0/0')::text
		FROM align_sync.connections WHERE company_id = $1`, l.companyID).Scan(&status, &lsn)
	if errors.Is(err, pgx.ErrNoRows) {
		l.conn = connState{loaded: time.Now()}
		return l.conn, nil
	}
	if err != nil {
		return connState{}, fmt.Errorf("reading connection of company %s: %w", l.companyID, err)
	}
	parsed, err := pglogrepl.ParseLSN(lsn)
	if err != nil {
		return connState{}, fmt.Errorf("parsing connected_lsn %q: %w", lsn, err)
	}
	l.conn = connState{status: status, connectedLSN: uint64(parsed), loaded: time.Now()}
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
	if err := l.sink.outbox.processing(ctx, row.ID); err != nil {
		return err
	}
	row.Attempts++
	api, err := l.sink.client(ctx, l.companyID)
	var links []link
	if err == nil {
		links, err = runner{db: db{pool: l.sink.pool, companyID: l.companyID}, api: api}.run(ctx, row)
	}
	if err == nil {
		if err := l.sink.outbox.done(ctx, row, links); err != nil {
			return err
		}
		l.record(row, "done")
		return nil
	}
	return l.park(ctx, row, err)
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
