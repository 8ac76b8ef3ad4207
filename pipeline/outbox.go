package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Outbox statuses.
const (
	statusPending    = "pending"
	statusProcessing = "processing"
	statusDone       = "done"
	statusFailed     = "failed"
)

// storedOp is the outbox payload column: enough to run the operation again
// without its Kafka message (retries, Retry Failed, a restart).
type storedOp struct {
	Kind      Kind     `json:"kind"`
	EntityID  string   `json:"entityId"`
	Payload   Payload  `json:"payload"`
	Touches   []string `json:"touches"`
	DependsOn []string `json:"dependsOn,omitempty"`
	TsMs      int64    `json:"tsMs,omitempty"`
}

// outboxRow is an operation as the outbox holds it.
type outboxRow struct {
	ID          int64
	CompanyID   string
	Key         string
	Status      string
	Attempts    int
	NextRetryAt *time.Time
	Op          storedOp
	// claimed: recorded already processing with its first attempt counted,
	// saving a round trip on the common path.
	claimed bool
}

func (r outboxRow) keys() []string {
	return append(append([]string{}, r.Op.Touches...), r.Op.DependsOn...)
}

// source is where a change came from, recorded with its operations.
type source struct {
	CommitLSN uint64
	Index     int
	Partition int
	Offset    int64
	TsMs      int64
}

type outbox struct{ pool *pgxpool.Pool }

// record inserts the operation as pending (or, with run, as processing with
// its first attempt counted), or returns the row an earlier delivery of the
// same change recorded.
func (o outbox) record(ctx context.Context, companyID string, op Op, key string, src source, run bool) (outboxRow, error) {
	stored := storedOp{Kind: op.Kind, EntityID: op.EntityID, Payload: op.Payload, Touches: op.Touches, DependsOn: op.DependsOn, TsMs: src.TsMs}
	payload, err := json.Marshal(stored)
	if err != nil {
		return outboxRow{}, fmt.Errorf("encoding operation %s: %w", key, err)
	}
	var ts *time.Time
	if src.TsMs > 0 {
		t := time.UnixMilli(src.TsMs)
		ts = &t
	}
	row := outboxRow{CompanyID: companyID, Key: key, Op: stored, Status: statusPending}
	if run {
		row.Status, row.Attempts, row.claimed = statusProcessing, 1, true
	}
	err = o.pool.QueryRow(ctx, `
		INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, payload, idempotency_key,
		       status, attempts, commit_lsn, change_index, kafka_partition, kafka_offset, source_ts)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::pg_lsn, $10, $11, $12, $13)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING id`,
		companyID, op.Kind.EntityType(), op.EntityID, string(op.Kind), payload, key, row.Status, row.Attempts,
		lsnText(src.CommitLSN), src.Index, src.Partition, src.Offset, ts).Scan(&row.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return o.byKey(ctx, key)
	}
	if err != nil {
		return outboxRow{}, fmt.Errorf("recording operation %s: %w", key, err)
	}
	return row, nil
}

func (o outbox) byKey(ctx context.Context, key string) (outboxRow, error) {
	rows, err := o.query(ctx, `WHERE idempotency_key = $1`, key)
	if err != nil || len(rows) == 0 {
		return outboxRow{}, fmt.Errorf("reading operation %s: %w", key, errors.Join(err, pgx.ErrNoRows))
	}
	return rows[0], nil
}

// open lists a company's unfinished operations in the order they were recorded.
func (o outbox) open(ctx context.Context, companyID string) ([]outboxRow, error) {
	return o.query(ctx, `WHERE company_id = $1 AND status <> 'done' ORDER BY id`, companyID)
}

func (o outbox) query(ctx context.Context, where string, args ...any) ([]outboxRow, error) {
	rows, err := o.pool.Query(ctx, `SELECT id, company_id::text, idempotency_key, status, attempts, next_retry_at, payload
		FROM align_sync.outbox `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("querying outbox: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (outboxRow, error) {
		var row outboxRow
		var payload []byte
		err := r.Scan(&row.ID, &row.CompanyID, &row.Key, &row.Status, &row.Attempts, &row.NextRetryAt, &payload)
		if err == nil {
			err = json.Unmarshal(payload, &row.Op)
		}
		return row, err
	})
}

// processing marks a run starting and counts the attempt.
func (o outbox) processing(ctx context.Context, id int64) error {
	_, err := o.pool.Exec(ctx, `UPDATE align_sync.outbox SET status = 'processing', attempts = attempts + 1,
		updated_at = now() WHERE id = $1`, id)
	return wrap(err, "marking operation %d processing", id)
}

// pending parks an operation behind an unfinished one it depends on.
func (o outbox) pending(ctx context.Context, id int64, note string) error {
	_, err := o.pool.Exec(ctx, `UPDATE align_sync.outbox SET status = 'pending', last_error = $2, next_retry_at = NULL,
		updated_at = now() WHERE id = $1 AND status <> 'done'`, id, note)
	return wrap(err, "marking operation %d pending", id)
}

// failed parks an operation. A nil retryAt waits for Retry Failed; refund
// gives the attempt back (a revoked key is not the operation's fault).
func (o outbox) failed(ctx context.Context, id int64, msg string, retryAt *time.Time, refund bool) error {
	_, err := o.pool.Exec(ctx, `UPDATE align_sync.outbox SET status = 'failed', last_error = $2, next_retry_at = $3,
		attempts = CASE WHEN $4 AND attempts > 0 THEN attempts - 1 ELSE attempts END, updated_at = now()
		WHERE id = $1`, id, msg, retryAt, refund)
	return wrap(err, "parking operation %d", id)
}

// link maps an Illumera entity to the Align entity an operation produced.
type link struct {
	EntityType, IllumeraID, AlignID string
}

// done marks the operation done, writes its links and the connection's
// last_synced_at in one transaction.
func (o outbox) done(ctx context.Context, row outboxRow, links []link) error {
	return pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`UPDATE align_sync.outbox SET status = 'done', last_error = NULL, next_retry_at = NULL,
			done_at = now(), updated_at = now() WHERE id = $1`, row.ID)
		for _, l := range links {
			b.Queue(`INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (company_id, entity_type, illumera_id)
				DO UPDATE SET align_id = EXCLUDED.align_id, updated_at = now()`,
				row.CompanyID, l.EntityType, l.IllumeraID, l.AlignID)
		}
		b.Queue(`UPDATE align_sync.connections SET last_synced_at = now(), updated_at = now() WHERE company_id = $1`, row.CompanyID)
		return wrap(tx.SendBatch(ctx, b).Close(), "marking operation %d done", row.ID)
	})
}

// lastSynced returns the source row of the last operation done for an
// entity, to stand in for old values a change arrived without.
func (o outbox) lastSynced(ctx context.Context, companyID, entityType, entityID string) (map[string]any, error) {
	var payload []byte
	err := o.pool.QueryRow(ctx, `SELECT payload FROM align_sync.outbox
		WHERE company_id = $1 AND entity_type = $2 AND entity_id = $3 AND status = 'done'
		ORDER BY id DESC LIMIT 1`, companyID, entityType, entityID).Scan(&payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading last synced %s %s: %w", entityType, entityID, err)
	}
	var s storedOp
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("decoding last synced %s %s: %w", entityType, entityID, err)
	}
	return s.Payload.Row, nil
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// lsnText renders an LSN the way PostgreSQL writes pg_lsn.
func lsnText(lsn uint64) string { return fmt.Sprintf("%X/%X", lsn>>32, uint32(lsn)) }

// isDone reports whether an operation has completed.
func (o outbox) isDone(ctx context.Context, id int64) (bool, error) {
	var status string
	err := o.pool.QueryRow(ctx, `SELECT status FROM align_sync.outbox WHERE id = $1`, id).Scan(&status)
	return status == statusDone, wrap(err, "reading operation %d", id)
}
