package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Connection statuses, as stored and as shown to admins.
const (
	StatusConnected    = "connected"
	StatusError        = "error"
	StatusDisconnected = "disconnected"
)

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

// Config assembles a Service. Pool and Keyring are required. NewClient and
// PublicBaseURL are needed only by Connect and Disconnect, so a process that
// only reads keys (the sink: APIKey, MarkError) may leave them empty.
type Config struct {
	Pool    *pgxpool.Pool
	Keyring *Keyring
	// NewClient builds the Align client for a key (NewClientFactory).
	NewClient ClientFactory
	// PublicBaseURL is where Align reaches this deployment's webhook receiver,
	// e.g. https://sync.illumera.example; the webhook destination is
	// <PublicBaseURL>/webhooks/align/<connection id>.
	PublicBaseURL string
	Logger        *slog.Logger
	Metrics       *Metrics // nil: not counted
}

// Service connects, disconnects and describes companies' Align connections.
// It is stateless; several instances may run against one database.
type Service struct {
	pool      *pgxpool.Pool
	keyring   *Keyring
	newClient ClientFactory
	baseURL   string
	log       *slog.Logger
	metrics   *Metrics
}

// NewService checks cfg and returns a Service.
func NewService(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Pool == nil {
		errs = append(errs, errors.New("connect: Pool is required"))
	}
	if cfg.Keyring == nil {
		errs = append(errs, errors.New("connect: Keyring is required"))
	}
	if cfg.PublicBaseURL != "" {
		if err := ValidateBaseURL(cfg.PublicBaseURL); err != nil {
			errs = append(errs, fmt.Errorf("connect: public base URL: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		pool:      cfg.Pool,
		keyring:   cfg.Keyring,
		newClient: orNoClient(cfg.NewClient),
		baseURL:   strings.TrimSuffix(cfg.PublicBaseURL, "/"),
		log:       logger,
		metrics:   cfg.Metrics,
	}, nil
}

// errNoAlign is what Connect and Disconnect meet in a Service built without
// an Align client or a public base URL.
var errNoAlign = errors.New("connect: this Service has no Align client or public base URL (Config.NewClient, Config.PublicBaseURL)")

func orNoClient(f ClientFactory) ClientFactory {
	if f != nil {
		return f
	}
	return func(string) (AlignAPI, error) { return nil, errNoAlign }
}

// ValidateBaseURL accepts an absolute http(s) URL without user info, query
// or fragment: the form of the public base URL and of Align's base URL.
func ValidateBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want http(s)://host[/path], without user info, query or fragment")
	}
	return nil
}

// WebhookURL is the destination Align posts a connection's events to.
func (s *Service) WebhookURL(connectionID string) string {
	return s.baseURL + "/webhooks/align/" + connectionID
}

// CanonicalID returns id as a lowercase hyphenated UUID, the form used as the
// encryption's additional data and in every query.
func CanonicalID(id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", fmt.Errorf("%q is not a UUID", id)
	}
	return u.String(), nil
}

// last4 is the only part of a secret that may be stored in clear or logged.
func last4(secret string) string {
	if len(secret) < 12 {
		return ""
	}
	return secret[len(secret)-4:]
}

// Status describes the company's connection.
func (s *Service) Status(ctx context.Context, companyID string) (Status, error) {
	company, err := CanonicalID(companyID)
	if err != nil {
		return Status{}, err
	}
	row, found, err := loadConnection(ctx, s.pool, company, false)
	if err != nil {
		return Status{}, err
	}
	if !found {
		return Status{Status: StatusDisconnected}, nil
	}
	return row.status(), nil
}

// APIKey decrypts the company's Align API key for the sink. A company that is
// not connected (no row, disconnected, or in error until an admin reconnects)
// gives an error wrapping ErrNotConnected.
func (s *Service) APIKey(ctx context.Context, companyID string) (string, error) {
	company, err := CanonicalID(companyID)
	if err != nil {
		return "", err
	}
	row, found, err := loadConnection(ctx, s.pool, company, false)
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
func (s *Service) MarkError(ctx context.Context, companyID, msg string) error {
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
