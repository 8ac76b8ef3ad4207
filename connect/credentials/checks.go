package credentials

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ClaimUnchecked marks up to limit connected companies not checked within
// every as checked now and returns them, least recently checked first.
// Several instances may claim at once: each gets other companies.
func ClaimUnchecked(ctx context.Context, pool *pgxpool.Pool, every time.Duration, limit int) ([]string, error) {
	rows, err := pool.Query(ctx, `
		UPDATE align_sync.connections SET health_checked_at = now()
		 WHERE company_id IN (
		       SELECT company_id FROM align_sync.connections
		        WHERE status = 'connected' AND (health_checked_at IS NULL OR health_checked_at <= now() - $1::interval)
		        ORDER BY health_checked_at NULLS FIRST
		        LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING company_id::text`, every, limit)
	if err != nil {
		return nil, fmt.Errorf("claiming connections to check: %w", err)
	}
	companies, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("claiming connections to check: %w", err)
	}
	return companies, nil
}

// MarkCheckedError puts the checked connection row in error with msg, unless
// it changed since it was read (a reconnect issues a new connection id).
func MarkCheckedError(ctx context.Context, pool *pgxpool.Pool, row Row, msg string) error {
	_, err := pool.Exec(ctx, `
		UPDATE align_sync.connections SET status = 'error', last_error = $3, updated_at = now()
		 WHERE company_id = $1 AND connection_id = $2 AND status = 'connected'`, row.CompanyID, row.ConnectionID, msg)
	if err != nil {
		return fmt.Errorf("marking connection of company %s in error: %w", row.CompanyID, err)
	}
	return nil
}

// ReplaceWebhook stores a webhook registered again under a new connection id,
// clearing the last error.
func ReplaceWebhook(ctx context.Context, tx pgx.Tx, companyID, connectionID, webhookID string, secret Sealed) error {
	_, err := tx.Exec(ctx, `
		UPDATE align_sync.connections
		   SET connection_id = $2, webhook_id = $3, webhook_secret_ciphertext = $4, webhook_secret_nonce = $5,
		       webhook_secret_key_id = $6, last_error = NULL, updated_at = now()
		 WHERE company_id = $1`, companyID, connectionID, webhookID, secret.Ciphertext, secret.Nonce, secret.KeyID)
	if err != nil {
		return fmt.Errorf("updating the connection of company %s: %w", companyID, err)
	}
	return nil
}

// CountByStatus counts the connections by status; a status without any is
// absent.
func CountByStatus(ctx context.Context, pool *pgxpool.Pool) (map[string]int64, error) {
	rows, err := pool.Query(ctx, `SELECT status, count(*) FROM align_sync.connections GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("counting connections: %w", err)
	}
	counts := map[string]int64{}
	var status string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error { counts[status] = n; return nil }); err != nil {
		return nil, fmt.Errorf("counting connections: %w", err)
	}
	return counts, nil
}
