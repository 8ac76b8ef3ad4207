package ledger

import (
	"context"
	"fmt"
	"github.com/illumera/alignsync/connect/credentials"
	"time"

	"github.com/jackc/pgx/v5"
)

// Claim leases up to n companies with ready work whose lease is free or
// expired, the company whose last turn is oldest first (round robin: a
// company with a long backlog waits its turn like any other). With only
// set, just those companies are considered, ready or not: their caller knows
// they have work. Each lease gets a new epoch.
func (l *Ledger) Claim(ctx context.Context, owner string, ttl time.Duration, n int, only []string) ([]Lease, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := l.pool.Query(ctx, `
		UPDATE align_sync.lanes l
		   SET lease_owner = $1, lease_epoch = l.lease_epoch + 1,
		       lease_expires_at = now() + $2 * interval '1 millisecond'
		  FROM (SELECT company_id, lease_owner AS previous
		          FROM align_sync.lanes
		         WHERE (lease_owner IS NULL OR lease_expires_at <= now())
		           AND CASE WHEN $4::uuid[] IS NULL THEN ready_at <= now() ELSE company_id = ANY($4::uuid[]) END
		         ORDER BY last_turn_at NULLS FIRST, ready_at
		         LIMIT $3
		         FOR UPDATE SKIP LOCKED) c
		 WHERE l.company_id = c.company_id
		RETURNING l.company_id::text, l.lease_epoch, l.work_version, c.previous IS NOT NULL`,
		owner, ttl.Milliseconds(), n, nullableIDs(only))
	if err != nil {
		return nil, fmt.Errorf("claiming companies: %w", err)
	}
	leases, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Lease, error) {
		ls := Lease{Owner: owner}
		err := r.Scan(&ls.CompanyID, &ls.Epoch, &ls.Version, &ls.Takeover)
		return ls, err
	})
	return leases, wrap(err, "claiming companies")
}

func nullableIDs(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// Renew extends the leases still held and returns the companies among them
// whose lease another executor has taken.
func (l *Ledger) Renew(ctx context.Context, owner string, ttl time.Duration, leases []Lease) (lost map[string]bool, err error) {
	lost = map[string]bool{}
	if len(leases) == 0 {
		return lost, nil
	}
	companies, epochs := make([]string, len(leases)), make([]int64, len(leases))
	for i, ls := range leases {
		companies[i], epochs[i] = ls.CompanyID, ls.Epoch
		lost[ls.CompanyID] = true
	}
	// Rows are locked in company order, as intake marks them ready: two
	// statements locking several lanes never deadlock.
	rows, err := l.pool.Query(ctx, `
		WITH held AS (
		     SELECT l.company_id FROM align_sync.lanes l
		       JOIN unnest($3::uuid[], $4::bigint[]) AS h(company_id, epoch)
		         ON l.company_id = h.company_id AND l.lease_epoch = h.epoch AND l.lease_owner = $1
		      ORDER BY l.company_id FOR UPDATE OF l)
		UPDATE align_sync.lanes l SET lease_expires_at = now() + $2 * interval '1 millisecond'
		  FROM held WHERE l.company_id = held.company_id
		RETURNING l.company_id::text`, owner, ttl.Milliseconds(), companies, epochs)
	if err != nil {
		return nil, fmt.Errorf("renewing %d leases: %w", len(leases), err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("renewing %d leases: %w", len(leases), err)
	}
	for _, c := range held {
		delete(lost, c)
	}
	return lost, nil
}

// Release gives a company's lease back. Its next ready time is worked out
// from the queue itself: now if work arrived since the executor last looked
// (the version moved), else the earliest operation that can run, but not
// before notBefore (a spent rate budget, Retry-After). idle forgets the
// company until new work arrives (it is disconnected).
func (l *Ledger) Release(ctx context.Context, ls Lease, notBefore time.Time, idle bool) error {
	var nb *time.Time
	if !notBefore.IsZero() {
		nb = &notBefore
	}
	_, err := l.pool.Exec(ctx, `
		UPDATE align_sync.lanes
		   SET lease_owner = NULL, lease_expires_at = NULL, last_turn_at = now(),
		       ready_at = CASE
		           WHEN work_version <> $4 THEN now()
		           WHEN $5 THEN NULL
		           ELSE greatest($6::timestamptz, (
		                SELECT min(coalesce(next_retry_at, now())) FROM align_sync.outbox
		                 WHERE company_id = $1 AND `+queued+`))
		       END
		 WHERE company_id = $1 AND lease_owner = $2 AND lease_epoch = $3`,
		ls.CompanyID, ls.Owner, ls.Epoch, ls.Version, idle, nb)
	return wrap(err, "releasing company %s", ls.CompanyID)
}

// ReleaseAll hands every lease of owner back, ready now, so that other
// instances take the companies over without waiting for the leases to
// expire (a clean shutdown).
func (l *Ledger) ReleaseAll(ctx context.Context, owner string) error {
	_, err := l.pool.Exec(ctx, `
		WITH held AS (SELECT company_id FROM align_sync.lanes WHERE lease_owner = $1 ORDER BY company_id FOR UPDATE)
		UPDATE align_sync.lanes l
		   SET lease_owner = NULL, lease_expires_at = NULL, ready_at = coalesce(ready_at, now())
		  FROM held WHERE l.company_id = held.company_id`, owner)
	return wrap(err, "releasing the leases of %s", owner)
}

// Sweep marks ready the connected companies that have runnable operations
// but no ready time: after a reconnect, or a lane row lost to an operator's
// hand. It returns how many it woke.
func (l *Ledger) Sweep(ctx context.Context) (int64, error) {
	tag, err := l.pool.Exec(ctx, `
		INSERT INTO align_sync.lanes AS l (company_id, ready_at)
		SELECT DISTINCT o.company_id, now()
		  FROM align_sync.outbox o
		  JOIN align_sync.connections c ON c.company_id = o.company_id AND c.status = $1
		 WHERE o.status IN ('pending', 'processing') AND o.blocked_by IS NULL
		 ORDER BY o.company_id
		ON CONFLICT (company_id) DO UPDATE SET ready_at = now()
		 WHERE l.ready_at IS NULL AND l.lease_owner IS NULL`, credentials.StatusConnected)
	if err != nil {
		return 0, fmt.Errorf("sweeping for forgotten work: %w", err)
	}
	return tag.RowsAffected(), nil
}
