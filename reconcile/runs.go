package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey names the advisory lock every run holds.
const lockKey = `hashtextextended('alignsync.reconcile', 0)`

// lock takes the cluster-wide reconciliation lock on a dedicated session:
// waiting for it (nightly), or failing with ErrBusy (manual).
func (r *Reconciler) lock(ctx context.Context, wait bool) (func(), error) {
	return sessionLock(ctx, r.cfg.Pool, lockKey, wait)
}

// sessionLock takes the advisory lock key (an SQL expression) on a dedicated
// session, waiting for it or failing with ErrBusy; the returned func releases
// it.
func sessionLock(ctx context.Context, pool *pgxpool.Pool, key string, wait bool) (func(), error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquiring a database connection: %w", err)
	}
	if wait {
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`)
	} else {
		var ok bool
		err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`).Scan(&ok)
		if err == nil && !ok {
			conn.Release()
			return nil, ErrBusy
		}
	}
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("taking the advisory lock %s: %w", key, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			conn.Conn().Close(ctx) // ending the session releases the lock
		}
		conn.Release()
	}, nil
}

// begin records the run. A nightly slot another instance already ran gives
// errSlotTaken.
func (r *Reconciler) begin(ctx context.Context, rep Report, opts Options, slot *time.Time) error {
	kind := "manual"
	if slot != nil {
		kind = "nightly"
	}
	tag, err := r.cfg.Pool.Exec(ctx, `
		INSERT INTO align_sync.reconciliation_runs
		       (run_id, kind, scheduled_for, company_id, window_spec, start_date, end_date, repair, started_at)
		VALUES ($1, $2, $3, $4::uuid, $5, $6::date, $7::date, $8, $9)
		ON CONFLICT (scheduled_for) WHERE kind = 'nightly' DO NOTHING`,
		rep.RunID, kind, slot, nullable(opts.CompanyID), rep.Window, nullable(rep.StartDate), nullable(rep.EndDate),
		opts.Repair, rep.StartedAt)
	if err != nil {
		return fmt.Errorf("recording the run: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errSlotTaken
	}
	return nil
}

// finish records how the run ended, even when ctx was cancelled.
func (r *Reconciler) finish(ctx context.Context, rep Report, outcome string, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var msg *string
	if cause != nil {
		s := cause.Error()
		msg = &s
	}
	t := rep.Totals
	_, err := r.cfg.Pool.Exec(ctx, `UPDATE align_sync.reconciliation_runs
		SET status = $2, companies = $3, projects = $4, entries_compared = $5, discrepancies = $6,
		    link_problems = $7, repairs = $8, error = $9, finished_at = $10
		WHERE run_id = $1`, rep.RunID, outcome, t.Companies, t.Projects, t.EntriesCompared, t.Discrepancies,
		t.LinkProblems, t.Repairs, msg, rep.FinishedAt)
	if err != nil {
		r.logger.Warn("recording the end of a reconciliation run failed", "run_id", rep.RunID, "error", err)
	}
}
