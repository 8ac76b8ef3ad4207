package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RetryFailed puts every failed operation of a company back to pending, due
// now, and marks the company ready; it returns how many it reset. Attempts
// are kept so the history stays visible. Operations blocked behind a reset
// one keep waiting until it is done.
func RetryFailed(ctx context.Context, pool *pgxpool.Pool, companyID string) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `
		WITH reset AS (
		     UPDATE align_sync.outbox SET status = 'pending', next_retry_at = now(), updated_at = now()
		      WHERE company_id = $1 AND status = 'failed' RETURNING 1),
		     lane AS (
		     INSERT INTO align_sync.lanes (company_id, ready_at, work_version)
		     SELECT $1, now(), 1 WHERE EXISTS (SELECT 1 FROM reset)
		     ON CONFLICT (company_id) DO UPDATE
		        SET ready_at = now(), work_version = align_sync.lanes.work_version + 1 RETURNING 1)
		SELECT count(*) FROM reset`, companyID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("resetting failed operations of company %s: %w", companyID, err)
	}
	return n, nil
}

// Item is one operation as the admin listing shows it. Subject names the
// Illumera entity it is about, so an admin knows what failed without
// opening a database.
type Item struct {
	ID          int64      `json:"id"`
	EntityType  string     `json:"entityType"`
	EntityID    string     `json:"entityId"`
	Subject     string     `json:"subject"`
	Op          string     `json:"op"`
	Status      Status     `json:"status"`
	Attempts    int        `json:"attempts"`
	Error       *string    `json:"error"`
	NextRetryAt *time.Time `json:"nextRetryAt"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
}

// List returns one page of a company's operations, newest first, optionally
// of one status, and how many there are in all.
func List(ctx context.Context, pool *pgxpool.Pool, companyID string, status Status, limit, offset int) ([]Item, int64, error) {
	var total int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.outbox
		WHERE company_id = $1 AND ($2 = '' OR status = $2)`, companyID, string(status)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting operations: %w", err)
	}
	rows, err := pool.Query(ctx, `
		SELECT o.id, o.entity_type, o.entity_id, o.op, o.status, o.attempts, o.last_error, o.next_retry_at,
		       o.created_at, o.updated_at, `+subjectColumns+`
		  FROM (SELECT * FROM align_sync.outbox
		         WHERE company_id = $1 AND ($2 = '' OR status = $2)
		         ORDER BY id DESC LIMIT $3 OFFSET $4) o
		  `+subjectJoins+`
		 ORDER BY o.id DESC`, companyID, string(status), limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("listing operations: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		var sub subject
		err := r.Scan(&it.ID, &it.EntityType, &it.EntityID, &it.Op, &it.Status, &it.Attempts, &it.Error,
			&it.NextRetryAt, &it.CreatedAt, &it.UpdatedAt, &sub.talent, &sub.email, &sub.project, &sub.workDate, &sub.minutes)
		it.Subject = sub.describe(it.EntityType)
		return it, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("listing operations: %w", err)
	}
	return items, total, nil
}

// FailedCount is how many of a company's operations are failed: what Retry
// Failed would reset.
func FailedCount(ctx context.Context, pool *pgxpool.Pool, companyID string) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.outbox WHERE company_id = $1 AND status = 'failed'`,
		companyID).Scan(&n)
	return n, wrap(err, "counting failed operations of company %s", companyID)
}

// OpenEntities are the ids of a company's entities of one type with an
// operation not done yet: the pipeline is still on them.
func OpenEntities(ctx context.Context, pool *pgxpool.Pool, companyID, entityType string) (map[string]bool, error) {
	rows, err := pool.Query(ctx, `SELECT DISTINCT entity_id FROM align_sync.outbox
		WHERE company_id = $1 AND entity_type = $2 AND status <> 'done'`, companyID, entityType)
	if err != nil {
		return nil, fmt.Errorf("listing unfinished operations: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing unfinished operations: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Depth is what the queues hold, for the dashboards.
type Depth struct {
	ByStatus map[Status]int64 // unfinished operations by status (done is not counted)
	// Top are the companies with the most pending or processing operations.
	Top []CompanyDepth
	// OldestPending is the age of the oldest pending or processing
	// operation; zero when there is none.
	OldestPending time.Duration
	// Ready counts companies whose next ready time has come.
	Ready int64
}

// CompanyDepth is one company's pending or processing operations.
type CompanyDepth struct {
	CompanyID string
	Pending   int64
}

// ReadDepth reads the queues' depth; top bounds the companies listed.
func ReadDepth(ctx context.Context, pool *pgxpool.Pool, top int) (Depth, error) {
	d := Depth{ByStatus: map[Status]int64{Pending: 0, Processing: 0, Failed: 0}}
	rows, err := pool.Query(ctx, `SELECT status, count(*) FROM align_sync.outbox WHERE status <> 'done' GROUP BY status`)
	if err != nil {
		return d, fmt.Errorf("counting operations: %w", err)
	}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return d, fmt.Errorf("counting operations: %w", err)
		}
		d.ByStatus[Status(s)] = n
	}
	if err := rows.Err(); err != nil {
		return d, fmt.Errorf("counting operations: %w", err)
	}
	rows, err = pool.Query(ctx, `SELECT company_id::text, count(*) FROM align_sync.outbox
		WHERE status IN ('pending', 'processing') GROUP BY company_id ORDER BY count(*) DESC, company_id LIMIT $1`, top)
	if err != nil {
		return d, fmt.Errorf("counting pending operations per company: %w", err)
	}
	if d.Top, err = pgx.CollectRows(rows, pgx.RowToStructByPos[CompanyDepth]); err != nil {
		return d, fmt.Errorf("counting pending operations per company: %w", err)
	}
	var oldest float64
	err = pool.QueryRow(ctx, `SELECT
		coalesce(extract(epoch FROM now() - (SELECT min(created_at) FROM align_sync.outbox
		                                      WHERE status IN ('pending', 'processing'))), 0),
		(SELECT count(*) FROM align_sync.lanes WHERE ready_at <= now())`).Scan(&oldest, &d.Ready)
	d.OldestPending = time.Duration(oldest * float64(time.Second))
	return d, wrap(err, "reading queue age")
}

// State is where one operation stands, for a replay's report.
type State struct {
	Status   Status
	Blocked  bool // waiting behind an earlier unfinished operation
	RetryDue bool // failed or pending with a next retry time
}

// States reads the states of operations by idempotency key; unknown keys
// are absent.
func (l *Ledger) States(ctx context.Context, keys []string) (map[string]State, error) {
	out := map[string]State{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := l.pool.Query(ctx, `SELECT idempotency_key, status, blocked_by IS NOT NULL, next_retry_at IS NOT NULL
		FROM align_sync.outbox WHERE idempotency_key = ANY($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("reading operation states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, status string
		var st State
		if err := rows.Scan(&key, &status, &st.Blocked, &st.RetryDue); err != nil {
			return nil, fmt.Errorf("reading operation states: %w", err)
		}
		st.Status = Status(status)
		out[key] = st
	}
	return out, rows.Err()
}
