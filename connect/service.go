package connect

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/connect/credentials"
)

// Config assembles a Service. Pool and Keyring are required. NewClient and
// PublicBaseURL are needed by every call to Align (Connect, Disconnect's
// webhook deletion, CheckHealth); a process that only reads keys uses a
// credentials.Store instead of a Service.
type Config struct {
	Pool    *pgxpool.Pool
	Keyring *credentials.Keyring
	// NewClient builds the Align client for a key (NewClientFactory).
	NewClient ClientFactory
	// PublicBaseURL is where Align reaches this deployment's webhook receiver,
	// e.g. https://sync.illumera.example; the webhook destination is
	// <PublicBaseURL>/webhooks/align/<connection id>.
	PublicBaseURL string
	Logger        *slog.Logger
	Metrics       *Metrics // nil: not counted
}

// Service connects, disconnects and checks companies' Align connections. It
// reads and writes the connection rows through its credential store, whose
// reads (Status, APIKey, MarkError, WebhookTarget) it offers as its own. It
// is stateless; several instances may run against one database.
type Service struct {
	*credentials.Store
	pool      *pgxpool.Pool
	keyring   *credentials.Keyring
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
	store, err := credentials.New(cfg.Pool, cfg.Keyring)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		Store:     store,
		pool:      cfg.Pool,
		keyring:   cfg.Keyring,
		newClient: orNoClient(cfg.NewClient),
		baseURL:   strings.TrimSuffix(cfg.PublicBaseURL, "/"),
		log:       logger,
		metrics:   cfg.Metrics,
	}, nil
}

// ParseKeyring is credentials.ParseKeyring.
//
// Deprecated: the keyring belongs to the credential store; use
// credentials.ParseKeyring. Kept for callers not yet moved.
func ParseKeyring(spec string) (*credentials.Keyring, error) { return credentials.ParseKeyring(spec) }

// errNoAlign is what the calls to Align meet in a Service built without an
// Align client or a public base URL.
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

// last4 is the only part of a secret that may be stored in clear or logged.
func last4(secret string) string {
	if len(secret) < 12 {
		return ""
	}
	return secret[len(secret)-4:]
}

// deref reads an optional column of a connection row.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
