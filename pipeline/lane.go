package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// work is one item of a company's lane: a change to process, or (resume) a
// pass over the company's unfinished operations.
type work struct {
	change Change
	src    source
	resume bool
	finish func() // the message is finished: done, skipped or durably parked
}

// lane runs one company's operations, one at a time and in order. Its
// blocked set maps each entity key held back by a parked operation to that
// operation's outbox id: an operation touching or depending on a blocked key
// waits behind it.
type lane struct {
	companyID string
	sink      *Sink
	queue     chan work
	blocked   map[string]int64
	resumed   bool
	conn      connState
	links     linkCache
	// outcomes, when set, collects what each operation did (for Apply).
	outcomes *[]Outcome
}

// Outcome is what one operation did: done, duplicate (done before), waiting
// (behind a parked operation), parked, failed or retry_later.
type Outcome struct {
	Kind     Kind
	EntityID string
	Result   string
}

func (l *lane) record(row outboxRow, result string) {
	l.sink.metrics.operation(row, result)
	if result == "done" {
		l.sink.metrics.completed(row)
	}
	if l.outcomes != nil {
		*l.outcomes = append(*l.outcomes, Outcome{Kind: row.Op.Kind, EntityID: row.Op.EntityID, Result: result})
	}
}

func newLane(s *Sink, companyID string) *lane {
	return &lane{companyID: companyID, sink: s, queue: make(chan work, s.cfg.LaneQueue),
		blocked: map[string]int64{}, links: linkCache{}}
}

// loop serves the lane until ctx ends. Each batch of queued work runs under
// the company's advisory lock, so across all sink instances one executor at a
// time runs this company's operations.
func (l *lane) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-l.queue:
			if err := l.batch(ctx, w); err != nil && ctx.Err() == nil {
				l.sink.logger.Error("lane batch failed; its messages will be redelivered",
					slog.String("company_id", l.companyID), slog.Any("error", err))
			}
		}
	}
}

func (l *lane) batch(ctx context.Context, first work) error {
	release, err := l.sink.acquire(ctx, l.companyID)
	if err != nil {
		return err
	}
	defer release()
	if err := l.resumeOnce(ctx); err != nil {
		return err
	}
	w := first
	for {
		if err := l.do(ctx, w); err != nil {
			return err
		}
		select {
		case w = <-l.queue:
		default:
			return nil
		}
	}
}

func (l *lane) do(ctx context.Context, w work) error {
	var err error
	if w.resume {
		err = l.resume(ctx)
	} else {
		err = l.process(ctx, w.change, w.src)
	}
	if err == nil && w.finish != nil {
		w.finish()
	}
	return err
}

// process records and runs the operations of one change.
func (l *lane) process(ctx context.Context, c Change, src source) error {
	conn, err := l.connection(ctx, c.CommitLSN)
	if err != nil {
		return err
	}
	if !conn.syncing() || c.CommitLSN < conn.connectedLSN {
		l.sink.metrics.skipped(c.Table, "not_connected")
		return nil // no connection, or history from before it: no backfill
	}
	if l.sink.skipTable(c.Table) {
		l.sink.metrics.skipped(c.Table, "skipped_table")
		return nil
	}
	if c.Op == "u" && c.Before == nil {
		if c.Before, err = l.sink.outbox.lastSynced(ctx, l.companyID, tableEntity(c.Table), str(c.After, "id")); err != nil {
			return err
		}
	}
	for _, op := range Translate(c) {
		run := conn.status == "connected" && !l.anyBlocked(op)
		row, err := l.sink.outbox.record(ctx, l.companyID, op, op.IdempotencyKey(c), src, run)
		if err != nil {
			return err
		}
		if err := l.step(ctx, row); err != nil {
			return err
		}
	}
	return nil
}

// step decides what one recorded operation does now: nothing (done), wait
// (parked or behind a parked one), or run.
func (l *lane) step(ctx context.Context, row outboxRow) error {
	switch {
	case row.Status == statusDone:
		l.record(row, "duplicate")
		return nil
	case row.Status == statusFailed && (row.NextRetryAt == nil || row.NextRetryAt.After(time.Now())):
		l.block(row)
		return nil
	}
	if blocker, err := l.blockedBy(ctx, row); err != nil || blocker != 0 {
		if err != nil {
			return err
		}
		l.block(row)
		l.record(row, "waiting")
		return l.sink.outbox.pending(ctx, row.ID, fmt.Sprintf("waiting for operation #%d", blocker))
	}
	return l.execute(ctx, row)
}

// blockedBy returns the id of a parked operation this one must wait for, or
// 0. A blocker another sink instance has since completed no longer blocks.
func (l *lane) blockedBy(ctx context.Context, row outboxRow) (int64, error) {
	for _, k := range row.keys() {
		id, ok := l.blocked[k]
		if !ok || id == row.ID {
			continue
		}
		done, err := l.sink.outbox.isDone(ctx, id)
		if err != nil {
			return 0, err
		}
		if !done {
			return id, nil
		}
		l.unblock(id)
	}
	return 0, nil
}

// anyBlocked reports whether the operation touches or depends on a key a
// parked operation holds (whether or not that one has since completed).
func (l *lane) anyBlocked(op Op) bool {
	for _, k := range append(append([]string{}, op.Touches...), op.DependsOn...) {
		if _, ok := l.blocked[k]; ok {
			return true
		}
	}
	return false
}

func (l *lane) block(row outboxRow) {
	for _, k := range row.Op.Touches {
		if _, ok := l.blocked[k]; !ok {
			l.blocked[k] = row.ID
		}
	}
}

func (l *lane) unblock(id int64) {
	for k, v := range l.blocked {
		if v == id {
			delete(l.blocked, k)
		}
	}
}

// resumeOnce runs the first resume pass of this lane: a new executor for the
// company first takes over what earlier ones left unfinished.
func (l *lane) resumeOnce(ctx context.Context) error {
	if l.resumed {
		return nil
	}
	if err := l.resume(ctx); err != nil {
		return err
	}
	l.resumed = true
	return nil
}

// resume runs a pass over the company's unfinished operations in recorded
// order: due retries, operations reset by Retry Failed, operations left
// behind by a crash, and those waiting behind any of them.
func (l *lane) resume(ctx context.Context) error {
	conn, err := l.connection(ctx, 0)
	if err != nil || !conn.syncing() {
		return err
	}
	rows, err := l.sink.outbox.open(ctx, l.companyID)
	if err != nil {
		return err
	}
	l.blocked = map[string]int64{}
	for _, row := range rows {
		if err := l.step(ctx, row); err != nil {
			return err
		}
	}
	return nil
}

// tableEntity is the outbox entity type of a synced table's rows.
func tableEntity(table string) string {
	switch table {
	case "projects":
		return "project"
	case "engagements":
		return "project_member"
	}
	return "time_entry"
}
