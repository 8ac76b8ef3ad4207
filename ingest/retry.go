package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// RetryResult counts what RetryFailed did.
type RetryResult struct {
	Retried   int `json:"retried"`
	Processed int `json:"processed"`
	Failed    int `json:"failed"`
}

// staleReceived is how long a delivery may stay received before a retry takes
// it: a younger one is most likely being processed by its own request.
const staleReceived = time.Minute

// RetryFailed processes every failed delivery of the company again, oldest
// first, from its stored payload, and records the new outcome; so too every
// delivery left received for more than staleReceived (its processing never
// finished: a crash, or a transient failure Align has not retried yet). A
// delivery another instance is retrying at the same moment is skipped.
func (rc *Receiver) RetryFailed(ctx context.Context, companyID string) (RetryResult, error) {
	rows, err := rc.pool.Query(ctx, `
		SELECT id FROM align_sync.webhook_deliveries
		 WHERE company_id = $1
		   AND (status = 'failed' OR (status = 'received' AND received_at < now() - $2::interval))
		 ORDER BY id`, companyID, staleReceived)
	if err != nil {
		return RetryResult{}, fmt.Errorf("listing failed deliveries of company %s: %w", companyID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return RetryResult{}, fmt.Errorf("listing failed deliveries of company %s: %w", companyID, err)
	}
	var res RetryResult
	for _, id := range ids {
		o, retried, err := rc.retryOne(ctx, companyID, id)
		if err != nil {
			return res, err
		}
		if !retried {
			continue
		}
		res.Retried++
		rc.metrics.outcome(o)
		if o.status == DeliveryFailed {
			res.Failed++
		} else {
			res.Processed++
		}
	}
	if res.Retried > 0 {
		rc.log.Info("retried failed webhook deliveries", slog.String("company_id", companyID),
			slog.Int("retried", res.Retried), slog.Int("processed", res.Processed), slog.Int("failed", res.Failed))
	}
	return res, nil
}

// retryOne processes one failed or received delivery again; retried is false
// when it was processed meanwhile or is locked by another retry.
func (rc *Receiver) retryOne(ctx context.Context, companyID string, id int64) (outcome, bool, error) {
	tx, err := rc.pool.Begin(ctx)
	if err != nil {
		return outcome{}, false, fmt.Errorf("beginning retry transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	var eventName, connectionID, occurredAt string
	var data json.RawMessage
	err = tx.QueryRow(ctx, `
		SELECT event_name, connection_id::text, coalesce(payload ->> 'occurredAt', ''), coalesce(payload -> 'data', 'null')
		  FROM align_sync.webhook_deliveries
		 WHERE id = $1 AND company_id = $2 AND status IN ('failed', 'received')
		   FOR UPDATE SKIP LOCKED`, id, companyID).Scan(&eventName, &connectionID, &occurredAt, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return outcome{}, false, nil
	}
	if err != nil {
		return outcome{}, false, fmt.Errorf("reading delivery %d to retry: %w", id, err)
	}
	o, err := process(ctx, tx, companyID, connectionID, eventName, occurredAt, data)
	if err != nil {
		if isTransient(err) {
			return outcome{}, false, err
		}
		_ = tx.Rollback(ctx)
		o = failed(reasonDatabase, "writing the status back: %v", err)
		return o, true, setOutcome(ctx, rc.pool, id, o)
	}
	if err := setOutcome(ctx, tx, id, o); err != nil {
		return outcome{}, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return outcome{}, false, fmt.Errorf("committing retried delivery %d: %w", id, err)
	}
	return o, true, nil
}

func setOutcome(ctx context.Context, q execer, id int64, o outcome) error {
	var one int
	err := q.QueryRow(ctx, `
		UPDATE align_sync.webhook_deliveries
		   SET status = $2, error = nullif($3, ''), note = nullif($4, ''), processed_at = now()
		 WHERE id = $1
		RETURNING 1`, id, o.status, o.err, o.note).Scan(&one)
	if err != nil {
		return fmt.Errorf("recording the outcome of delivery %d: %w", id, err)
	}
	return nil
}
