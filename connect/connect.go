package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/sinks/align"
)

// ErrEmptyKey is returned by Connect for a blank API key.
var ErrEmptyKey = errors.New("apiKey is required")

// cleanupTimeout bounds a best-effort webhook deletion.
const cleanupTimeout = 10 * time.Second

// Connect validates apiKey with Align, registers the webhook and stores both
// secrets encrypted. Connecting a company that is already connected replaces
// its key and webhook: the connection gets a new connection id (so the old
// webhook's URL answers 404 even if deleting it at Align fails) and the old
// webhook is deleted, best effort. Entity links are never touched.
//
// Align's refusals are *Failure errors. A key Align rejects changes nothing
// that is stored; a valid key whose webhook cannot be registered is stored
// with status error.
func (s *Service) Connect(ctx context.Context, companyID, apiKey string) (Status, error) {
	st, err := s.connect(ctx, companyID, apiKey)
	var f *Failure
	switch {
	case err == nil:
		s.metrics.connectAttempt("connected")
	case errors.As(err, &f):
		s.metrics.connectAttempt(f.Code)
	default:
		s.metrics.connectAttempt("error")
	}
	return st, err
}

func (s *Service) connect(ctx context.Context, companyID, apiKey string) (Status, error) {
	company, err := CanonicalID(companyID)
	if err != nil {
		return Status{}, err
	}
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" {
		return Status{}, ErrEmptyKey
	}
	if s.baseURL == "" {
		return Status{}, errNoAlign
	}
	log := s.log.With(slog.String("company_id", company), redactedKey(apiKey))
	client, err := s.newClient(apiKey)
	if errors.Is(err, errNoAlign) {
		return Status{}, err
	}
	if err != nil {
		return Status{}, s.refuse(log, apiKey, malformedKey(err))
	}
	info, err := client.Me(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Status{}, fmt.Errorf("validating API key: %w", ctx.Err())
		}
		return Status{}, s.refuse(log, apiKey, meFailed(err))
	}
	switch info.Scope {
	case align.ScopeOrganization:
	case align.ScopeProject:
		return Status{}, s.refuse(log, apiKey, projectScoped())
	default:
		return Status{}, s.refuse(log, apiKey, unexpectedScope(info.Scope))
	}
	orgID, err := CanonicalID(info.OrganizationID)
	if err != nil {
		return Status{}, s.refuse(log, apiKey, &Failure{
			Code: CodeAlignUnavailable, Message: "Align API key validation failed: unexpected answer from Align",
			Fix: "Try again in a few minutes", cause: fmt.Errorf("GET /me organizationId: %w", err),
		})
	}
	return s.register(ctx, log, company, apiKey, orgID, client)
}

// register holds the company's lock while it registers the webhook and
// stores the outcome, so concurrent connects of one company cannot interleave.
func (s *Service) register(ctx context.Context, log *slog.Logger, company, apiKey, orgID string, client AlignAPI) (Status, error) {
	log = log.With(slog.String("organization_id", orgID))
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("beginning connect transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := lockCompany(ctx, tx, company); err != nil {
		return Status{}, err
	}
	old, hadOld, err := loadConnection(ctx, tx, company, true)
	if err != nil {
		return Status{}, err
	}
	sealedKey, err := s.keyring.Seal(company, []byte(apiKey))
	if err != nil {
		return Status{}, err
	}

	connectionID := uuid.NewString()
	wh, err := client.CreateWebhook(ctx, "alignsync-connect-"+connectionID, align.CreateWebhookRequest{
		DestinationURL: s.WebhookURL(connectionID),
		EventNames:     WebhookEvents,
	})
	if err == nil && (wh.ID == "" || wh.HMACSecret == "") {
		err = errors.New("POST /webhooks answered without an id or a secret")
	}
	if err != nil {
		if ctx.Err() != nil {
			return Status{}, fmt.Errorf("registering webhook: %w", ctx.Err())
		}
		f := webhookFailed(err)
		if err := saveWebhookFailure(ctx, tx, company, sealedKey, last4(apiKey), orgID, f.Message); err != nil {
			return Status{}, err
		}
		if err := tx.Commit(ctx); err != nil {
			return Status{}, fmt.Errorf("committing connection error: %w", err)
		}
		log.Warn("align connection in error: webhook registration failed", errorAttr(err, apiKey))
		return Status{}, f
	}

	sealedSecret, err := s.keyring.Seal(company, []byte(wh.HMACSecret))
	if err == nil {
		err = saveConnected(ctx, tx, connected{
			companyID: company, connectionID: connectionID, apiKey: sealedKey, keyLast4: last4(apiKey),
			organizationID: orgID, webhookID: wh.ID, webhookSecret: sealedSecret,
		})
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		// The new webhook points at a connection id that was never stored.
		s.deleteWebhook(ctx, log, client, apiKey, wh.ID)
		return Status{}, fmt.Errorf("storing connection: %w", err)
	}
	log.Info("align connected", slog.String("connection_id", connectionID), slog.String("webhook_id", wh.ID),
		slog.Bool("replaced", hadOld && old.Status != StatusDisconnected))
	if hadOld && old.WebhookID != nil {
		s.deleteOldWebhook(ctx, log, company, old, orgID, client, apiKey)
	}
	return s.Status(ctx, company)
}

// refuse records a refused attempt in the log; nothing is stored.
func (s *Service) refuse(log *slog.Logger, apiKey string, f *Failure) error {
	attrs := []any{slog.String("code", f.Code), slog.String("message", f.Message)}
	if f.cause != nil {
		attrs = append(attrs, errorAttr(f.cause, apiKey))
	}
	log.Info("align connect refused", attrs...)
	return f
}

// deleteOldWebhook removes the webhook a reconnect replaced: with the new key
// when it belongs to the same organization (the old key may be why the admin
// reconnected), else with the old key.
func (s *Service) deleteOldWebhook(ctx context.Context, log *slog.Logger, company string, old connectionRow, orgID string, current AlignAPI, currentKey string) {
	client, key := current, currentKey
	if deref(old.OrganizationID) != orgID {
		c, k, err := s.clientFor(company, old.APIKey)
		if err != nil {
			log.Warn("deleting replaced align webhook failed", slog.String("webhook_id", *old.WebhookID), slog.Any("error", err))
			return
		}
		client, key = c, k
	}
	s.deleteWebhook(ctx, log, client, key, *old.WebhookID)
}

// deleteWebhook deletes a webhook at Align, best effort: a failure is logged
// (the webhook's URL no longer matches a stored connection, so its deliveries
// are refused) and otherwise ignored.
func (s *Service) deleteWebhook(ctx context.Context, log *slog.Logger, client AlignAPI, apiKey, webhookID string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	err := client.DeleteWebhook(ctx, webhookID)
	if err != nil && !align.IsNotFound(err) {
		log.Warn("deleting align webhook failed", slog.String("webhook_id", webhookID), errorAttr(err, apiKey))
		return false
	}
	return true
}

// clientFor decrypts a stored key and builds its client.
func (s *Service) clientFor(company string, sealed Sealed) (AlignAPI, string, error) {
	if len(sealed.Ciphertext) == 0 {
		return nil, "", errors.New("no API key stored")
	}
	key, err := s.keyring.Open(company, sealed)
	if err != nil {
		return nil, "", err
	}
	c, err := s.newClient(string(key))
	return c, string(key), err
}

// Disconnect marks the company disconnected, forgets its key and webhook
// secret and deletes the webhook at Align, best effort. Entity links stay, so
// a later connect resumes without creating duplicates. Disconnecting a company
// that is not connected is a no-op.
func (s *Service) Disconnect(ctx context.Context, companyID string) (Status, error) {
	company, err := CanonicalID(companyID)
	if err != nil {
		return Status{}, err
	}
	old, changed, err := s.markDisconnected(ctx, company)
	if err != nil {
		return Status{}, err
	}
	if !changed {
		return s.Status(ctx, company)
	}
	log := s.log.With(slog.String("company_id", company), slog.String("connection_id", old.ConnectionID))
	deleted := false
	if old.WebhookID != nil {
		if client, key, err := s.clientFor(company, old.APIKey); err != nil {
			log.Warn("deleting align webhook failed", slog.String("webhook_id", *old.WebhookID), slog.Any("error", err))
		} else {
			deleted = s.deleteWebhook(ctx, log, client, key, *old.WebhookID)
		}
	}
	log.Info("align disconnected", slog.Bool("webhook_deleted", deleted))
	return s.Status(ctx, company)
}

func (s *Service) markDisconnected(ctx context.Context, company string) (connectionRow, bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return connectionRow{}, false, fmt.Errorf("beginning disconnect transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := lockCompany(ctx, tx, company); err != nil {
		return connectionRow{}, false, err
	}
	old, found, err := loadConnection(ctx, tx, company, true)
	if err != nil || !found || old.Status == StatusDisconnected {
		return old, false, err
	}
	if err := saveDisconnected(ctx, tx, company); err != nil {
		return old, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return old, false, fmt.Errorf("committing disconnect: %w", err)
	}
	return old, true, nil
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
func (s *Service) WebhookTarget(ctx context.Context, connectionID string) (Webhook, error) {
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
