package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/sinks/align"
)

// ErrEmptyKey is returned by Connect for a blank API key.
var ErrEmptyKey = errors.New("apiKey is required")

// Connect is ConnectWith without options: what an admin does by pasting a
// key, without confirming a start over.
func (s *Service) Connect(ctx context.Context, companyID, apiKey string) (credentials.Status, error) {
	return s.ConnectWith(ctx, companyID, apiKey, Options{})
}

// ConnectWith validates apiKey with Align, makes sure a webhook brings
// statuses back and stores both secrets encrypted.
//
// Connecting a company that is already connected or in error replaces its
// key without interrupting the sync: connected_lsn stays, so no change is
// skipped. The webhook is kept when the new key belongs to the same
// organization and Align still lists it; otherwise a new one is registered
// under a new connection id (so the old webhook's URL answers 404 even if
// deleting it at Align fails) and the old one is deleted, best effort.
//
// A key of another organization than the one the company's entity links
// point into is refused (CodeOrganizationChanged) unless opts confirms
// starting over, which retires those links in the same transaction.
//
// Align's refusals are *Failure errors. A refused key changes nothing that
// is stored, and neither does a key replacing a working (connected) key
// whose webhook cannot be registered; otherwise a valid key whose webhook
// cannot be registered is stored with status error.
func (s *Service) ConnectWith(ctx context.Context, companyID, apiKey string, opts Options) (credentials.Status, error) {
	st, err := s.connect(ctx, companyID, apiKey, opts)
	var f *Failure
	switch {
	case err == nil:
		s.metrics.connectAttempt(credentials.StatusConnected)
	case errors.As(err, &f):
		s.metrics.connectAttempt(f.Code)
	default:
		s.metrics.connectAttempt("error")
	}
	return st, err
}

func (s *Service) connect(ctx context.Context, companyID, apiKey string, opts Options) (credentials.Status, error) {
	company, err := credentials.CanonicalID(companyID)
	if err != nil {
		return credentials.Status{}, err
	}
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" {
		return credentials.Status{}, ErrEmptyKey
	}
	if s.baseURL == "" {
		return credentials.Status{}, errNoAlign
	}
	log := s.log.With(slog.String("company_id", company), redactedKey(apiKey))
	client, err := s.newClient(apiKey)
	if errors.Is(err, errNoAlign) {
		return credentials.Status{}, err
	}
	if err != nil {
		return credentials.Status{}, s.refuse(log, apiKey, malformedKey(err))
	}
	info, err := client.Me(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return credentials.Status{}, fmt.Errorf("validating API key: %w", ctx.Err())
		}
		return credentials.Status{}, s.refuse(log, apiKey, meFailed(err))
	}
	switch info.Scope {
	case align.ScopeOrganization:
	case align.ScopeProject:
		return credentials.Status{}, s.refuse(log, apiKey, projectScoped())
	default:
		return credentials.Status{}, s.refuse(log, apiKey, unexpectedScope(info.Scope))
	}
	orgID, err := credentials.CanonicalID(info.OrganizationID)
	if err != nil {
		return credentials.Status{}, s.refuse(log, apiKey, &Failure{
			Code: CodeAlignUnavailable, Message: "Align API key validation failed: unexpected answer from Align",
			Fix: "Try again in a few minutes", cause: fmt.Errorf("GET /me organizationId: %w", err),
		})
	}
	return s.register(ctx, attempt{log: log, company: company, apiKey: apiKey, orgID: orgID, client: client, opts: opts})
}

// attempt is a connect whose key Align accepted as an organization key.
type attempt struct {
	log                    *slog.Logger
	company, apiKey, orgID string
	client                 AlignAPI
	opts                   Options
}

// register holds the company's lock while it checks the organization,
// settles the webhook and stores the outcome, so concurrent connects of one
// company cannot interleave.
func (s *Service) register(ctx context.Context, a attempt) (credentials.Status, error) {
	log := a.log.With(slog.String("organization_id", a.orgID))
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return credentials.Status{}, fmt.Errorf("beginning connect transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := credentials.Lock(ctx, tx, a.company); err != nil {
		return credentials.Status{}, err
	}
	old, hadOld, err := credentials.Load(ctx, tx, a.company, true)
	if err != nil {
		return credentials.Status{}, err
	}
	move, err := checkOrganization(ctx, tx, old, hadOld, a.orgID, a.opts)
	var f *Failure
	if errors.As(err, &f) {
		return credentials.Status{}, s.refuse(log, a.apiKey, f)
	}
	if err != nil {
		return credentials.Status{}, err
	}
	sealedKey, err := s.keyring.Seal(a.company, []byte(a.apiKey))
	if err != nil {
		return credentials.Status{}, err
	}
	wh, err := s.webhookFor(ctx, log, a.client, a.apiKey, old, hadOld, a.orgID)
	if err != nil {
		if ctx.Err() != nil {
			return credentials.Status{}, fmt.Errorf("registering webhook: %w", ctx.Err())
		}
		if hadOld && old.Status == credentials.StatusConnected {
			// Replacing a working key: keep it rather than break the sync.
			return credentials.Status{}, s.refuse(log, a.apiKey, webhookFailed(err))
		}
		return credentials.Status{}, s.storeWebhookFailure(ctx, tx, log, a, sealedKey, move, err)
	}
	retired, err := s.storeConnected(ctx, tx, a, sealedKey, wh, move)
	if err != nil {
		if !wh.kept {
			// The new webhook points at a connection id that was never stored.
			s.deleteWebhook(ctx, log, a.client, a.apiKey, wh.id)
		}
		return credentials.Status{}, fmt.Errorf("storing connection: %w", err)
	}
	log.Info("align connected", slog.String("connection_id", wh.connectionID), slog.String("webhook_id", wh.id),
		slog.Bool("replaced", hadOld && old.Status != credentials.StatusDisconnected), slog.Bool("webhook_kept", wh.kept),
		slog.Int64("links_retired", retired))
	if !wh.kept && hadOld && old.WebhookID != nil {
		s.deleteOldWebhook(ctx, log, a.company, old, a.orgID, a.client, a.apiKey)
	}
	return s.Status(ctx, a.company)
}

// storeConnected retires the links of a confirmed move, stores the connection
// and commits.
func (s *Service) storeConnected(ctx context.Context, tx pgx.Tx, a attempt, sealedKey credentials.Sealed, wh hook, move *orgMove) (int64, error) {
	var retired int64
	if move != nil {
		n, err := retireLinks(ctx, tx, a.company, *move)
		if err != nil {
			return 0, err
		}
		retired = n
	}
	sealedSecret := wh.sealed
	if !wh.kept {
		var err error
		if sealedSecret, err = s.keyring.Seal(a.company, []byte(wh.secret)); err != nil {
			return 0, err
		}
	}
	err := credentials.SaveConnected(ctx, tx, credentials.Connected{
		CompanyID: a.company, ConnectionID: wh.connectionID, APIKey: sealedKey, KeyLast4: last4(a.apiKey),
		OrganizationID: a.orgID, WebhookID: wh.id, WebhookSecret: sealedSecret,
	})
	if err != nil {
		return 0, err
	}
	return retired, tx.Commit(ctx)
}

// storeWebhookFailure stores a validated key whose webhook Align refused, in
// error with the guide's message. A confirmed move still retires the links:
// the connection now names the new organization, which is what the stored
// organization records.
func (s *Service) storeWebhookFailure(ctx context.Context, tx pgx.Tx, log *slog.Logger, a attempt, sealedKey credentials.Sealed, move *orgMove, cause error) error {
	f := webhookFailed(cause)
	if move != nil {
		if _, err := retireLinks(ctx, tx, a.company, *move); err != nil {
			return err
		}
	}
	if err := credentials.SaveWebhookFailure(ctx, tx, a.company, sealedKey, last4(a.apiKey), a.orgID, f.Message); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing connection error: %w", err)
	}
	log.Warn("align connection in error: webhook registration failed", errorAttr(cause, a.apiKey))
	return f
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

// clientFor decrypts a stored key and builds its client.
func (s *Service) clientFor(company string, sealed credentials.Sealed) (AlignAPI, string, error) {
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
func (s *Service) Disconnect(ctx context.Context, companyID string) (credentials.Status, error) {
	company, err := credentials.CanonicalID(companyID)
	if err != nil {
		return credentials.Status{}, err
	}
	old, changed, err := s.markDisconnected(ctx, company)
	if err != nil {
		return credentials.Status{}, err
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

func (s *Service) markDisconnected(ctx context.Context, company string) (credentials.Row, bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return credentials.Row{}, false, fmt.Errorf("beginning disconnect transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := credentials.Lock(ctx, tx, company); err != nil {
		return credentials.Row{}, false, err
	}
	old, found, err := credentials.Load(ctx, tx, company, true)
	if err != nil || !found || old.Status == credentials.StatusDisconnected {
		return old, false, err
	}
	if err := credentials.SaveDisconnected(ctx, tx, company); err != nil {
		return old, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return old, false, fmt.Errorf("committing disconnect: %w", err)
	}
	return old, true, nil
}
