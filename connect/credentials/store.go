package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Connection statuses, as stored in align_sync.connections and as shown to
// admins.
const (
	StatusConnected    = "connected"
	StatusError        = "error"
	StatusDisconnected = "disconnected"
)

// Statuses lists every connection status.
var Statuses = []string{StatusConnected, StatusError, StatusDisconnected}

// ErrNotConnected is returned (wrapped) by APIKey and WebhookTarget when the
// company has no connection or it is disconnected or in error.
var ErrNotConnected = errors.New("align connection is not connected")

// Status is what an admin sees of a connection. A company that never
// connected is "disconnected" with every other field empty.
type Status struct {
	Status         string
	KeyLast4       string
	OrganizationID string
	LastSyncedAt   *time.Time
	LastError      string
	ConnectedAt    *time.Time
}

// Store reads companies' credentials and connection statuses. It is
// stateless; several instances may run against one database.
type Store struct {
	pool    *pgxpool.Pool
	keyring *Keyring
}

// New returns a Store reading pool's connections with keyring; both are
// required.
func New(pool *pgxpool.Pool, keyring *Keyring) (*Store, error) {
	var errs []error
	if pool == nil {
		errs = append(errs, errors.New("credentials: a pool is required"))
	}
	if keyring == nil {
		errs = append(errs, errors.New("credentials: a keyring is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Store{pool: pool, keyring: keyring}, nil
}

// Status describes the company's connection.
func (s *Store) Status(ctx context.Context, companyID string) (Status, error) {
	company, err := CanonicalID(companyID)
	if err != nil {
		return Status{}, err
	}
	row, found, err := Load(ctx, s.pool, company, false)
	if err != nil {
		return Status{}, err
	}
	if !found {
		return Status{Status: StatusDisconnected}, nil
	}
	return row.status(), nil
}

// APIKey decrypts the company's Align API key. A company that is not
// connected (no row, disconnected, or in error until an admin reconnects)
// gives an error wrapping ErrNotConnected.
func (s *Store) APIKey(ctx context.Context, companyID string) (string, error) {
	company, err := CanonicalID(companyID)
	if err != nil {
		return "", err
	}
	row, found, err := Load(ctx, s.pool, company, false)
	if err != nil {
		return "", err
	}
	if !found || row.Status != StatusConnected {
		st := StatusDisconnected
		if found {
			st = row.Status
		}
		return "", fmt.Errorf("company %s: %w (status %s)", company, ErrNotConnected, st)
	}
	key, err := s.keyring.Open(company, row.APIKey)
	if err != nil {
		return "", fmt.Errorf("company %s: API key: %w", company, err)
	}
	return string(key), nil
}

// MarkError puts a connected company in error with msg (shown to admins as
// the last error); a disconnected company stays disconnected. msg must not
// contain a secret.
func (s *Store) MarkError(ctx context.Context, companyID, msg string) error {
	company, err := CanonicalID(companyID)
	if err != nil {
		return err
	}
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	_, err = s.pool.Exec(ctx, `
		UPDATE align_sync.connections
		   SET status = 'error', last_error = $2, updated_at = now()
		 WHERE company_id = $1 AND status <> 'disconnected'`, company, msg)
	if err != nil {
		return fmt.Errorf("marking connection of company %s in error: %w", company, err)
	}
	return nil
}

// Webhook is what the receiver needs to check a delivery to a connection.
type Webhook struct {
	CompanyID      string
	ConnectionID   string
	OrganizationID string
	Secret         string // "whsec_..."; never log it
}

// WebhookTarget returns the company, organization and decrypted webhook secret
// of connectionID. A connection that does not exist, is disconnected or has no
// webhook gives an error wrapping ErrNotConnected. A connection in error keeps
// receiving: Align still reports statuses while the sink waits for an admin.
func (s *Store) WebhookTarget(ctx context.Context, connectionID string) (Webhook, error) {
	id, err := uuid.Parse(connectionID)
	if err != nil {
		return Webhook{}, fmt.Errorf("connection %q: %w", connectionID, ErrNotConnected)
	}
	var w Webhook
	var sealed Sealed
	var status string
	var org *string
	err = s.pool.QueryRow(ctx, `
		SELECT company_id::text, status, organization_id::text,
		       webhook_secret_ciphertext, webhook_secret_nonce, coalesce(webhook_secret_key_id, '')
		  FROM align_sync.connections WHERE connection_id = $1`, id).
		Scan(&w.CompanyID, &status, &org, &sealed.Ciphertext, &sealed.Nonce, &sealed.KeyID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Webhook{}, fmt.Errorf("connection %s: %w", id, ErrNotConnected)
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("reading connection %s: %w", id, err)
	}
	if status == StatusDisconnected || len(sealed.Ciphertext) == 0 || org == nil {
		return Webhook{}, fmt.Errorf("connection %s: %w (status %s)", id, ErrNotConnected, status)
	}
	secret, err := s.keyring.Open(w.CompanyID, sealed)
	if err != nil {
		return Webhook{}, fmt.Errorf("connection %s: webhook secret: %w", id, err)
	}
	w.ConnectionID, w.OrganizationID, w.Secret = id.String(), *org, string(secret)
	return w, nil
}
