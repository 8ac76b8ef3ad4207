package resync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/ingest"
)

// Tables are the synced tables a resync reads, in dependency order.
var Tables = []string{"projects", "engagements", "time_entries"}

// row is one synced row as it is now, in the shape capture gives the
// translation (to_jsonb: uuids and dates as text, integers as numbers).
type row struct {
	table string
	id    string
	data  map[string]any
}

// changedRows lists the company's rows created or updated at or after since,
// oldest change first, so that operations are recorded in roughly the order
// their changes were committed; within one instant a project comes before its
// engagements and those before their time entries.
func changedRows(ctx context.Context, pool *pgxpool.Pool, companyID string, since time.Time) ([]row, error) {
	rows, err := pool.Query(ctx, `
		SELECT tbl, id, data FROM (
			SELECT 'projects' AS tbl, 0 AS rank, id::text, to_jsonb(t) AS data, greatest(created_at, updated_at) AS at
			  FROM projects t WHERE company_id = $1 AND (updated_at >= $2 OR created_at >= $2)
			UNION ALL
			SELECT 'engagements', 1, id::text, to_jsonb(t), greatest(created_at, updated_at)
			  FROM engagements t WHERE company_id = $1 AND (updated_at >= $2 OR created_at >= $2)
			UNION ALL
			SELECT 'time_entries', 2, id::text, to_jsonb(t), greatest(created_at, updated_at)
			  FROM time_entries t WHERE company_id = $1 AND (updated_at >= $2 OR created_at >= $2)
		) changed ORDER BY at, rank, id`, companyID, since)
	if err != nil {
		return nil, fmt.Errorf("reading the rows of company %s changed since %s: %w", companyID, since.Format(time.RFC3339), err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		var raw []byte
		if err := r.Scan(&x.table, &x.id, &raw); err != nil {
			return x, err
		}
		x.data, err = decodeRow(raw)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the rows of company %s changed since %s: %w", companyID, since.Format(time.RFC3339), err)
	}
	return out, nil
}

// key identifies the row's version: the same row unchanged gives the same
// key (a second resync enqueues nothing), any change of it (updated_at
// included) a new one.
func (r row) key() string {
	b, _ := json.Marshal(r.data) // map keys come out sorted
	sum := sha256.Sum256(b)
	return "resync/" + r.table + "/" + r.id + "/" + hex.EncodeToString(sum[:8])
}

// change is a row change in the translation's terms: op "c" (inserted, no
// before) or "u".
type change struct {
	table, op     string
	before, after map[string]any
}

// changeFor is the change that takes Align from what the ledger last
// recorded for the row (last, nil when nothing) to the row as it is now.
func changeFor(r row, last map[string]any) change {
	if last == nil {
		return firstSync(r)
	}
	c := change{table: r.table, op: "u", before: last, after: r.data}
	if r.table == "time_entries" && text(last, "status") == ingest.StatusSubmitted && text(r.data, "status") == ingest.StatusSubmitted &&
		differ(last, r.data, "minutes", "work_date", "description") {
		// Illumera edits a submitted entry only after Align rejected it, which
		// the ledger does not record: the edit and the resubmission are due.
		c.before = with(last, "status", ingest.StatusRejected)
	}
	return c
}

// firstSync is the change of a row the ledger never recorded: its insertion,
// with the transitions a status reached in the gap implies.
func firstSync(r row) change {
	c := change{table: r.table, op: "c", after: r.data}
	if r.table != "engagements" {
		return c
	}
	switch text(r.data, "status") {
	case "active": // accepted, then started: provision as on acceptance
		c.after = with(r.data, "status", "accepted")
	case "ended": // take away a membership an entry's sync may have made
		c = change{table: r.table, op: "u", before: with(r.data, "status", "active"), after: r.data}
	}
	return c
}

func text(m map[string]any, k string) string {
	if m[k] == nil {
		return ""
	}
	return fmt.Sprint(m[k])
}

func differ(a, b map[string]any, keys ...string) bool {
	for _, k := range keys {
		if text(a, k) != text(b, k) || (a[k] == nil) != (b[k] == nil) {
			return true
		}
	}
	return false
}

func with(m map[string]any, k string, v any) map[string]any {
	out := maps.Clone(m)
	out[k] = v
	return out
}
