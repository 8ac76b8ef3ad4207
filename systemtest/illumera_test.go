package systemtest

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/internal/testenv"
)

// illumera is one company's rows as the comparison needs them.
type illumera struct {
	projects    []projectRow
	engagements []engagementRow
	talent      map[string]string // id → email, of the company's engaged talent
	entries     []entryRow
}

type projectRow struct{ ID, Title, Status string }

type engagementRow struct{ ID, ProjectID, TalentID, Status string }

type entryRow struct {
	ID, ProjectID, TalentID, WorkDate, Description, Status, Reason, AdjustmentOf string
	Minutes                                                                      int
}

func readIllumera(ctx context.Context, pool *pgxpool.Pool, companyID string) (*illumera, error) {
	il := &illumera{talent: map[string]string{}}
	err := testenv.EachRow(ctx, pool, `SELECT id::text, title, status FROM projects WHERE company_id = $1`, companyID, func(r pgx.Rows) error {
		var p projectRow
		if err := r.Scan(&p.ID, &p.Title, &p.Status); err != nil {
			return err
		}
		il.projects = append(il.projects, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = testenv.EachRow(ctx, pool, `SELECT e.id::text, e.project_id::text, e.talent_id::text, e.status, t.email
		FROM engagements e JOIN talent t ON t.id = e.talent_id WHERE e.company_id = $1`, companyID, func(r pgx.Rows) error {
		var e engagementRow
		var email string
		if err := r.Scan(&e.ID, &e.ProjectID, &e.TalentID, &e.Status, &email); err != nil {
			return err
		}
		il.engagements = append(il.engagements, e)
		il.talent[e.TalentID] = email
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = testenv.EachRow(ctx, pool, `SELECT id::text, project_id::text, talent_id::text, work_date::text, coalesce(description, ''),
		status, coalesce(rejection_reason, ''), coalesce(adjustment_of::text, ''), minutes FROM time_entries WHERE company_id = $1`,
		companyID, func(r pgx.Rows) error {
			var e entryRow
			if err := r.Scan(&e.ID, &e.ProjectID, &e.TalentID, &e.WorkDate, &e.Description, &e.Status, &e.Reason, &e.AdjustmentOf, &e.Minutes); err != nil {
				return err
			}
			il.entries = append(il.entries, e)
			return nil
		})
	return il, err
}

// ledgerState is what alignsync itself holds for a company: its operations
// by status, and the webhook deliveries it recorded.
type ledgerState struct {
	ops          map[string]int // outbox status → operations
	retried      int            // operations that took more than one attempt
	maxAttempts  int
	deliveries   map[string]int // webhook_deliveries status → deliveries
	repaired     int            // deliveries the status sweep wrote
	deliveryIDs  map[string]bool
	failedDetail []string // a few failed operations, for the report
}

func readLedger(ctx context.Context, pool *pgxpool.Pool, companyID string) (*ledgerState, error) {
	ls := &ledgerState{ops: map[string]int{}, deliveries: map[string]int{}, deliveryIDs: map[string]bool{}}
	err := testenv.EachRow(ctx, pool, `SELECT status, count(*), count(*) FILTER (WHERE attempts > 1), coalesce(max(attempts), 0)
		FROM align_sync.outbox WHERE company_id = $1 GROUP BY status`, companyID, func(r pgx.Rows) error {
		var status string
		var n, retried, maxA int
		if err := r.Scan(&status, &n, &retried, &maxA); err != nil {
			return err
		}
		ls.ops[status], ls.retried, ls.maxAttempts = n, ls.retried+retried, max(ls.maxAttempts, maxA)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = testenv.EachRow(ctx, pool, `SELECT op || ' ' || entity_id || ': ' || coalesce(last_error, '') FROM align_sync.outbox
		WHERE company_id = $1 AND status = 'failed' ORDER BY id LIMIT 3`, companyID, func(r pgx.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		ls.failedDetail = append(ls.failedDetail, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = testenv.EachRow(ctx, pool, `SELECT delivery_id, status, repaired FROM align_sync.webhook_deliveries WHERE company_id = $1`,
		companyID, func(r pgx.Rows) error {
			var id, status string
			var repaired bool
			if err := r.Scan(&id, &status, &repaired); err != nil {
				return err
			}
			ls.deliveries[status]++
			ls.deliveryIDs[id] = true
			if repaired {
				ls.repaired++
			}
			return nil
		})
	return ls, err
}

// engagementHistory lists, in recorded order, the operations of one
// engagement and of its time entries: which ran when explains a stray member.
func engagementHistory(ctx context.Context, pool *pgxpool.Pool, companyID, engagementID string) (string, error) {
	var out []string
	rows, err := pool.Query(ctx, `SELECT '#' || id || ' ' || op || ' ' || left(entity_id, 8) || ' ' || status || ' ' || attempts || ' ' ||
		coalesce(to_char(done_at, 'HH24:MI:SS.MS'), '-') FROM align_sync.outbox
		WHERE company_id = $1 AND (entity_id = $2 OR payload->'payload'->>'engagementId' = $2) ORDER BY id`, companyID, engagementID)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", err
		}
		out = append(out, s)
	}
	return strings.Join(out, "; "), rows.Err()
}
