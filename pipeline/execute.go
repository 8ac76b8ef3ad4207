package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/sinks/align"
)

// execResult is what one operation's run means for the rest of the turn.
type execResult struct {
	done      bool      // the operation is done (now or by an earlier executor)
	stop      bool      // the company's key was refused: nothing more can run
	notBefore time.Time // the key's rate budget is spent until then
}

// execute runs one operation, calls Align, then records the outcome under
// the lease. It returns an error only when the outcome could not be
// recorded (the operation runs again).
//
// A first run is not marked processing: its end counts the attempt (see
// ledger.Run). A retry is marked processing while Align is called, not
// before: the call is idempotent, and waiting for the mark would add a
// round trip to the operation's latency; the outcome is recorded only once
// the mark is.
func (s *Sink) execute(ctx context.Context, l *lane, row ledger.Row) (execResult, error) {
	type mark struct {
		started bool
		err     error
	}
	retry := row.Attempts > 0 || row.Status == ledger.Processing
	marked := make(chan mark, 1)
	if retry {
		go func() {
			started, err := s.ledger.Start(ctx, l.lease, row.ID)
			marked <- mark{started, err}
		}()
	} else {
		marked <- mark{started: true}
	}
	begun := time.Now()
	row.Attempts++
	links, err := s.call(ctx, l, row)
	run := ledger.Run{Counted: retry, Took: time.Since(begun)}
	if m := <-marked; m.err != nil || !m.started {
		return execResult{done: m.err == nil}, m.err // done already by an executor that lost its lease
	}
	if err == nil {
		if err := s.ledger.Complete(ctx, l.lease, row.ID, run, links); err != nil {
			return execResult{}, err
		}
		for _, k := range links {
			l.links.put(k.EntityType, k.IllumeraID, k.AlignID)
		}
		s.metrics.operation(row, "done")
		s.metrics.completed(row)
		return execResult{done: true}, nil
	}
	return s.settle(ctx, l, row, run, err)
}

// call runs the operation with the company's key. A refused key is read
// again first: after a reconnect (a new key, the old one revoked) the lane's
// client may be stale, and that is no reason to put the connection in error.
func (s *Sink) call(ctx context.Context, l *lane, row ledger.Row) ([]ledger.Link, error) {
	r := runner{db: db{pool: s.pool, companyID: l.lease.CompanyID, links: l.links}, api: l.client}
	links, err := r.run(ctx, row)
	if err == nil || !align.IsAuthFailure(err) {
		return links, err
	}
	key, kerr := s.conns.APIKey(ctx, l.lease.CompanyID)
	if kerr != nil || key == l.key {
		return links, err
	}
	c, cerr := s.clients.build(l.lease.CompanyID, key, s.client)
	if cerr != nil {
		return links, err
	}
	l.client, l.key, r.api = c, key, c
	return r.run(ctx, row)
}

// settle records a failed run: retried soon, parked, or (shutting down) left
// processing for whoever runs the company next.
func (s *Sink) settle(ctx context.Context, l *lane, row ledger.Row, run ledger.Run, cause error) (execResult, error) {
	msg := cause.Error()
	now := time.Now()
	switch classify(ctx, cause) {
	case abandon:
		return execResult{}, ctx.Err()
	case rateLimited:
		at := now.Add(max(align.RetryAfter(cause), 50*time.Millisecond))
		s.metrics.operation(row, "rate_limited")
		return execResult{notBefore: at}, s.ledger.Retry(ctx, l.lease, row.ID, run, msg, at, true)
	case parkAuth:
		msg = authMessage(cause)
		if err := s.conns.MarkError(ctx, l.lease.CompanyID, msg); err != nil {
			return execResult{}, err
		}
		s.logger.Warn("Align refused the company's key; its operations are parked",
			slog.String("company_id", l.lease.CompanyID), slog.String("error", msg))
		s.metrics.operation(row, "parked")
		return execResult{stop: true}, s.ledger.Park(ctx, l.lease, row.ID, run, msg, nil, true)
	case parkPermanent:
		s.metrics.operation(row, "failed")
		return execResult{}, s.ledger.Park(ctx, l.lease, row.ID, run, msg, nil, false)
	}
	s.metrics.operation(row, "retry_later")
	if row.Attempts < s.cfg.AlignMaxAttempts {
		at := now.Add(max(s.backoff(row.Attempts), align.RetryAfter(cause)))
		return execResult{}, s.ledger.Retry(ctx, l.lease, row.ID, run, msg, at, false)
	}
	at := now.Add(retryDelay(row.Attempts-s.cfg.AlignMaxAttempts+1, cause))
	return execResult{}, s.ledger.Park(ctx, l.lease, row.ID, run, msg, &at, false)
}

// backoff is the wait before the next attempt of a transient failure:
// RetryInterval, doubling, at most 30 s.
func (s *Sink) backoff(attempts int) time.Duration {
	d := s.cfg.RetryInterval
	for i := 1; i < attempts && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// authMessage words a refused key as the admin guide does.
func authMessage(err error) string {
	var apiErr *align.APIError
	if errors.As(err, &apiErr) && apiErr.Code == "key_revoked" {
		return "Align API key validation failed: 401 (key_revoked)"
	}
	return "Align API key validation failed: 401"
}
