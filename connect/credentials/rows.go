package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier is a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Row is one row of align_sync.connections, as the connect workflow reads
// it before changing it.
type Row struct {
	CompanyID      string
	ConnectionID   string
	Status         string
	APIKey         Sealed // empty when disconnected
	KeyLast4       *string
	OrganizationID *string
	WebhookID      *string
	WebhookSecret  Sealed // empty without a webhook
	ConnectedLSN   *string
	ConnectedAt    *time.Time
	LastSyncedAt   *time.Time
	LastError      *string
}

func (r Row) status() Status {
	return Status{
		Status:         r.Status,
		KeyLast4:       deref(r.KeyLast4),
		OrganizationID: deref(r.OrganizationID),
		LastSyncedAt:   r.LastSyncedAt,
		LastError:      deref(r.LastError),
		ConnectedAt:    r.ConnectedAt,
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

const selectConnection = `
	SELECT company_id::text, connection_id::text, status,
	       api_key_ciphertext, api_key_nonce, coalesce(api_key_key_id, ''),
	       key_last4, organization_id::text, webhook_id::text,
	       webhook_secret_ciphertext, webhook_secret_nonce, coalesce(webhook_secret_key_id, ''),
	       connected_lsn::text, connected_at, last_synced_at, last_error
	  FROM align_sync.connections`

func scanConnection(row pgx.Row) (Row, bool, error) {
	var r Row
	err := row.Scan(&r.CompanyID, &r.ConnectionID, &r.Status,
		&r.APIKey.Ciphertext, &r.APIKey.Nonce, &r.APIKey.KeyID,
		&r.KeyLast4, &r.OrganizationID, &r.WebhookID,
		&r.WebhookSecret.Ciphertext, &r.WebhookSecret.Nonce, &r.WebhookSecret.KeyID,
		&r.ConnectedLSN, &r.ConnectedAt, &r.LastSyncedAt, &r.LastError)
	if errors.Is(err, pgx.ErrNoRows) {
		return Row{}, false, nil
	}
	if err != nil {
		return Row{}, false, fmt.Errorf("reading align connection: %w", err)
	}
	return r, true, nil
}

// Load reads the company's row (companyID canonical, see CanonicalID);
// forUpdate locks it for the caller's transaction.
func Load(ctx context.Context, q Querier, companyID string, forUpdate bool) (Row, bool, error) {
	sql := selectConnection + ` WHERE company_id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	return scanConnection(q.QueryRow(ctx, sql, companyID))
}

// Lock serialises changes of one company's connection (connect, disconnect,
// a health check's re-registration) across every serve instance, until the
// transaction ends.
func Lock(ctx context.Context, tx pgx.Tx, companyID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('alignsync.connect:' || $1, 0))`, companyID); err != nil {
		return fmt.Errorf("locking align connection of company %s: %w", companyID, err)
	}
	return nil
}

// Connected is what a successful connect stores.
type Connected struct {
	CompanyID, ConnectionID string
	APIKey                  Sealed
	KeyLast4                string // the only part of the key stored in clear
	OrganizationID          string
	WebhookID               string
	WebhookSecret           Sealed
}

// SaveConnected stores a successful connect. connected_lsn and connected_at
// are set only when the company was not connected before (new, disconnected,
// or never completed): a key rotation keeps them, so changes the sink has not
// reached yet are not skipped.
//
// connected_lsn is the WAL insert position, not pg_current_wal_lsn() (the
// write position): with synchronous_commit off, a transaction that committed
// before the connect can still sit beyond the write position, and the sink
// would sync it as if it came after.
func SaveConnected(ctx context.Context, tx pgx.Tx, c Connected) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO align_sync.connections AS c (
		       company_id, connection_id, status,
		       api_key_ciphertext, api_key_nonce, api_key_key_id, key_last4, organization_id,
		       webhook_id, webhook_secret_ciphertext, webhook_secret_nonce, webhook_secret_key_id,
		       connected_lsn, connected_at, last_error, updated_at)
		VALUES ($1, $2, 'connected', $3, $4, $5, nullif($6, ''), $7, $8, $9, $10, $11,
		        pg_current_wal_insert_lsn(), now(), NULL, now())
		ON CONFLICT (company_id) DO UPDATE SET
		       connection_id = EXCLUDED.connection_id,
		       status = 'connected',
		       api_key_ciphertext = EXCLUDED.api_key_ciphertext,
		       api_key_nonce = EXCLUDED.api_key_nonce,
		       api_key_key_id = EXCLUDED.api_key_key_id,
		       key_last4 = EXCLUDED.key_last4,
		       organization_id = EXCLUDED.organization_id,
		       webhook_id = EXCLUDED.webhook_id,
		       webhook_secret_ciphertext = EXCLUDED.webhook_secret_ciphertext,
		       webhook_secret_nonce = EXCLUDED.webhook_secret_nonce,
		       webhook_secret_key_id = EXCLUDED.webhook_secret_key_id,
		       connected_lsn = CASE WHEN c.status = 'disconnected' OR c.connected_lsn IS NULL
		                            THEN EXCLUDED.connected_lsn ELSE c.connected_lsn END,
		       connected_at = CASE WHEN c.status = 'disconnected' OR c.connected_lsn IS NULL
		                           THEN EXCLUDED.connected_at ELSE c.connected_at END,
		       last_error = NULL,
		       updated_at = now()`,
		c.CompanyID, c.ConnectionID,
		c.APIKey.Ciphertext, c.APIKey.Nonce, c.APIKey.KeyID, c.KeyLast4, c.OrganizationID,
		c.WebhookID, c.WebhookSecret.Ciphertext, c.WebhookSecret.Nonce, c.WebhookSecret.KeyID)
	if err != nil {
		return fmt.Errorf("storing align connection of company %s: %w", c.CompanyID, err)
	}
	return nil
}

// SaveWebhookFailure stores a validated key whose webhook could not be
// registered: status error with the guide's message. A webhook registered by
// an earlier connect is kept, so statuses keep arriving, and the next
// successful connect deletes it.
func SaveWebhookFailure(ctx context.Context, tx pgx.Tx, companyID string, apiKey Sealed, keyLast4, organizationID, msg string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO align_sync.connections AS c (
		       company_id, status, api_key_ciphertext, api_key_nonce, api_key_key_id,
		       key_last4, organization_id, last_error, updated_at)
		VALUES ($1, 'error', $2, $3, $4, nullif($5, ''), $6, $7, now())
		ON CONFLICT (company_id) DO UPDATE SET
		       status = 'error',
		       api_key_ciphertext = EXCLUDED.api_key_ciphertext,
		       api_key_nonce = EXCLUDED.api_key_nonce,
		       api_key_key_id = EXCLUDED.api_key_key_id,
		       key_last4 = EXCLUDED.key_last4,
		       organization_id = EXCLUDED.organization_id,
		       last_error = EXCLUDED.last_error,
		       updated_at = now()`,
		companyID, apiKey.Ciphertext, apiKey.Nonce, apiKey.KeyID, keyLast4, organizationID, msg)
	if err != nil {
		return fmt.Errorf("storing align connection error of company %s: %w", companyID, err)
	}
	return nil
}

// SaveDisconnected forgets the key and the webhook; the organization id stays
// as a record of which organization the kept entity links point into.
func SaveDisconnected(ctx context.Context, tx pgx.Tx, companyID string) error {
	_, err := tx.Exec(ctx, `
		UPDATE align_sync.connections
		   SET status = 'disconnected',
		       api_key_ciphertext = NULL, api_key_nonce = NULL, api_key_key_id = NULL, key_last4 = NULL,
		       webhook_id = NULL, webhook_secret_ciphertext = NULL, webhook_secret_nonce = NULL,
		       webhook_secret_key_id = NULL, last_error = NULL, updated_at = now()
		 WHERE company_id = $1`, companyID)
	if err != nil {
		return fmt.Errorf("disconnecting align connection of company %s: %w", companyID, err)
	}
	return nil
}
