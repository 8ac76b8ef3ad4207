package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Blocker is an unfinished operation that is not runnable now (parked,
// waiting for a retry, or itself blocked): later operations that need what it
// touches wait behind it.
type Blocker struct {
	ID      int64
	Touches []string
}

// Window is the start of a company's queue as an executor sees it.
type Window struct {
	// Runnable are the first operations that may run now, in recorded order:
	// pending, interrupted (processing) or parked with a retry that is due;
	// not blocked.
	Runnable []Row
	// Blockers are the earlier unfinished operations that touch a key one of
	// Runnable needs.
	Blockers []Blocker
	// Connection is the company's connection status (connected, error,
	// disconnected), "" when it has none, read with the queue.
	Connection string
}

// queued is the condition of an operation waiting to run, now or at its
// next_retry_at: pending, interrupted (processing) or parked with a retry
// time, and not blocked. Window and Release must agree on it, or a company
// would be claimed again and again for nothing.
const queued = `status <> 'done' AND blocked_by IS NULL AND NOT (status = 'failed' AND next_retry_at IS NULL)`

// Window reads up to limit runnable operations of the leased company and
// what may block them, and refreshes the lease's work version: work recorded
// after this read moves the version, so a release knows to look again.
func (l *Ledger) Window(ctx context.Context, ls *Lease, limit int) (Window, error) {
	var w Window
	// others counts the unfinished operations before the last runnable one
	// that are not runnable themselves: only when there are any can
	// something block, and only then are the blockers read.
	rows, err := l.pool.Query(ctx, `
		WITH v AS (SELECT work_version, coalesce((SELECT status FROM align_sync.connections WHERE company_id = $1), '') AS conn
		             FROM align_sync.lanes WHERE company_id = $1),
		     r AS (SELECT id, idempotency_key, status, attempts, next_retry_at, payload
		             FROM align_sync.outbox
		            WHERE company_id = $1 AND `+queued+` AND (next_retry_at IS NULL OR next_retry_at <= now())
		            ORDER BY id LIMIT $2)
		SELECT r.id, r.idempotency_key, r.status, r.attempts, r.next_retry_at, r.payload, v.work_version, v.conn,
		       (SELECT count(*) FROM align_sync.outbox
		         WHERE company_id = $1 AND status <> 'done' AND id <= (SELECT max(id) FROM r)) - (SELECT count(*) FROM r)
		  FROM v LEFT JOIN r ON true
		 ORDER BY r.id`, ls.CompanyID, limit)
	if err != nil {
		return w, fmt.Errorf("reading the queue of company %s: %w", ls.CompanyID, err)
	}
	var others int64
	for rows.Next() {
		var r Row
		var id *int64
		var key, status *string
		var attempts *int
		var payload []byte
		if err := rows.Scan(&id, &key, &status, &attempts, &r.NextRetryAt, &payload, &ls.Version, &w.Connection, &others); err != nil {
			rows.Close()
			return w, fmt.Errorf("reading the queue of company %s: %w", ls.CompanyID, err)
		}
		if id == nil {
			continue // the lane row alone: nothing runnable
		}
		r.ID, r.CompanyID, r.Key, r.Status, r.Attempts = *id, ls.CompanyID, *key, Status(*status), *attempts
		if r.Op, err = decodeOp(payload); err != nil {
			rows.Close()
			return w, err
		}
		w.Runnable = append(w.Runnable, r)
	}
	if err := rows.Err(); err != nil {
		return w, fmt.Errorf("reading the queue of company %s: %w", ls.CompanyID, err)
	}
	if len(w.Runnable) == 0 || others == 0 {
		return w, nil
	}
	w.Blockers, err = l.blockers(ctx, ls.CompanyID, w.Runnable)
	return w, err
}

func (l *Ledger) blockers(ctx context.Context, companyID string, runnable []Row) ([]Blocker, error) {
	var keys []string
	ids := make([]int64, 0, len(runnable))
	for _, r := range runnable {
		keys = append(keys, r.Op.Keys()...)
		ids = append(ids, r.ID)
	}
	rows, err := l.pool.Query(ctx, `
		SELECT id, touches FROM align_sync.outbox
		 WHERE company_id = $1 AND status <> 'done' AND id < $2 AND touches && $3::text[] AND NOT (id = ANY($4))
		 ORDER BY id`, companyID, ids[len(ids)-1], keys, ids)
	if err != nil {
		return nil, fmt.Errorf("reading what blocks company %s: %w", companyID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Blocker])
	return out, wrap(err, "reading what blocks company %s", companyID)
}

// fenced runs one statement that writes under the lease: its first
// parameters are the company, owner and epoch, and it returns whether the
// lease was held and how many rows it changed. The check and the write are
// one statement: a write that starts after another executor's claim has
// committed is refused. (One that started before commits as if it came
// first; the lane row is not locked for it, which would cost a write per
// statement, and every write checks status <> 'done', so the ledger stays
// consistent either way.)
func (l *Ledger) fenced(ctx context.Context, ls Lease, write string, args ...any) (int64, error) {
	sql := `WITH lease AS (SELECT 1 FROM align_sync.lanes
		       WHERE company_id = $1 AND lease_owner = $2 AND lease_epoch = $3),
		     w AS (` + write + `)
		SELECT (SELECT count(*) FROM lease), (SELECT count(*) FROM w)`
	var held, changed int64
	err := l.pool.QueryRow(ctx, sql, append([]any{ls.CompanyID, ls.Owner, ls.Epoch}, args...)...).Scan(&held, &changed)
	if err != nil {
		return 0, err
	}
	if held == 0 {
		return 0, ErrLeaseLost
	}
	return changed, nil
}

// Block holds an operation back behind the earlier unfinished one it needs.
func (l *Ledger) Block(ctx context.Context, ls Lease, id, blocker int64) error {
	_, err := l.fenced(ctx, ls, `UPDATE align_sync.outbox
		   SET status = 'pending', blocked_by = $5::bigint, next_retry_at = NULL, updated_at = now(),
		       last_error = 'waiting for operation #' || $5::bigint::text
		 WHERE id = $4 AND status <> 'done' AND EXISTS (SELECT 1 FROM lease) RETURNING 1`, id, blocker)
	return wrap(err, "holding operation %d behind %d", id, blocker)
}

// Start marks a run beginning and counts the attempt. It reports false when
// the operation is done already (finished by an executor that lost its lease
// after its last look).
func (l *Ledger) Start(ctx context.Context, ls Lease, id int64) (bool, error) {
	n, err := l.fenced(ctx, ls, `UPDATE align_sync.outbox
		   SET status = 'processing', attempts = attempts + 1, started_at = now(), updated_at = now()
		 WHERE id = $4 AND status <> 'done' AND EXISTS (SELECT 1 FROM lease) RETURNING 1`, id)
	return n == 1, wrap(err, "marking operation %d processing", id)
}

// Run is how a run of an operation was started: Counted when Start recorded
// it (a retry) or when there was no run at all; else the end of the run
// counts the attempt and records its start, Took before now. A first run
// is not marked processing beforehand, which saves a write per operation:
// after a crash it runs again as a first run, and Align's idempotency keys
// and external references make that harmless.
type Run struct {
	Counted bool
	Took    time.Duration
}

// Complete marks an operation done, frees the operations blocked behind it,
// writes the links it produced and the connection's last_synced_at (at most
// once a second), in one statement.
func (l *Ledger) Complete(ctx context.Context, ls Lease, id int64, run Run, links []Link) error {
	types, illumera, align := make([]string, len(links)), make([]string, len(links)), make([]string, len(links))
	for i, k := range links {
		types[i], illumera[i], align[i] = k.EntityType, k.IllumeraID, k.AlignID
	}
	// The statement goes on after w (the outbox update) with more CTEs; fenced
	// closes the last one.
	_, err := l.fenced(ctx, ls, `UPDATE align_sync.outbox
		   SET status = 'done', last_error = NULL, next_retry_at = NULL, blocked_by = NULL,
		       done_at = now(), updated_at = now(), `+runColumns(8)+`
		 WHERE id = $4 AND status <> 'done' AND EXISTS (SELECT 1 FROM lease) RETURNING 1),
		 unblocked AS (UPDATE align_sync.outbox SET blocked_by = NULL, last_error = NULL, updated_at = now()
		 WHERE company_id = $1 AND blocked_by = $4 AND EXISTS (SELECT 1 FROM w) RETURNING 1),
		 linked AS (INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		 SELECT $1, t, i, a FROM unnest($5::text[], $6::text[], $7::text[]) AS k(t, i, a)
		  WHERE a <> '' AND EXISTS (SELECT 1 FROM w)
		 ON CONFLICT (company_id, entity_type, illumera_id)
		 DO UPDATE SET align_id = EXCLUDED.align_id, updated_at = now() RETURNING 1),
		 synced AS (UPDATE align_sync.connections SET last_synced_at = now(), updated_at = now()
		 WHERE company_id = $1 AND EXISTS (SELECT 1 FROM w)
		   AND (last_synced_at IS NULL OR last_synced_at < now() - interval '1 second') RETURNING 1`,
		id, types, illumera, align, run.Counted, run.Took.Milliseconds())
	return wrap(err, "marking operation %d done", id)
}

// runColumns sets attempts and started_at for a run ending now: $n is
// Run.Counted, $n+1 Run.Took in milliseconds. started_at is the database's
// clock less the run's duration, so windows from different instances
// compare on one clock.
func runColumns(n int) string {
	return fmt.Sprintf(`attempts = attempts + CASE WHEN $%[1]d THEN 0 ELSE 1 END,
		       started_at = CASE WHEN $%[1]d THEN started_at ELSE now() - $%[2]d * interval '1 millisecond' END`, n, n+1)
}

// Retry puts an operation back to pending, due at at; refund gives the
// attempt back (the call never reached Align, or the rate limit refused it).
func (l *Ledger) Retry(ctx context.Context, ls Lease, id int64, run Run, msg string, at time.Time, refund bool) error {
	return l.setBack(ctx, ls, id, run, Pending, msg, &at, refund)
}

// Park marks an operation failed. A nil retryAt waits for Retry Failed.
func (l *Ledger) Park(ctx context.Context, ls Lease, id int64, run Run, msg string, retryAt *time.Time, refund bool) error {
	return l.setBack(ctx, ls, id, run, Failed, msg, retryAt, refund)
}

func (l *Ledger) setBack(ctx context.Context, ls Lease, id int64, run Run, status Status, msg string, at *time.Time, refund bool) error {
	_, err := l.fenced(ctx, ls, `UPDATE align_sync.outbox
		   SET status = $5, last_error = $6, next_retry_at = $7, updated_at = now(),
		       attempts = greatest(0, attempts + CASE WHEN $9 THEN 0 ELSE 1 END - CASE WHEN $8 THEN 1 ELSE 0 END),
		       started_at = CASE WHEN $9 THEN started_at ELSE now() - $10 * interval '1 millisecond' END
		 WHERE id = $4 AND status <> 'done' AND EXISTS (SELECT 1 FROM lease) RETURNING 1`,
		id, string(status), msg, at, refund, run.Counted, run.Took.Milliseconds())
	return wrap(err, "setting operation %d %s", id, status)
}
