package connect

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/sinks/align"
)

// DefaultHealthInterval is how often each connected company is checked.
const DefaultHealthInterval = 10 * time.Minute

// healthBatch connections are claimed per tick and checked by healthWorkers
// at once, so a slow Align answer for one company delays few others.
const (
	healthBatch   = 50
	healthWorkers = 4
)

// Health check outcomes, the label of alignsync_connect_health_checks_total.
const (
	HealthHealthy      = "healthy"              // /me answers and the webhook is registered
	HealthReregistered = "webhook_reregistered" // the webhook was gone and is registered again
	HealthKeyInvalid   = CodeKeyInvalid         // Align refused the key: status error
	HealthWebhookFail  = CodeWebhookFailed      // the webhook is gone and could not be registered: status error
	HealthUnavailable  = CodeAlignUnavailable   // no verdict from Align; checked again next time
	HealthSkipped      = "skipped"              // disconnected or reconnected since it was claimed
	HealthError        = "error"                // an internal fault (database, keyring)
)

var healthOutcomes = []string{HealthHealthy, HealthReregistered, HealthKeyInvalid, HealthWebhookFail, HealthUnavailable,
	HealthSkipped, HealthError}

// healthAPI is what a health check calls; the *align.Client that
// NewClientFactory builds has it.
type healthAPI interface {
	AlignAPI
	ListWebhooks(ctx context.Context) iter.Seq2[align.Webhook, error]
}

var _ healthAPI = (*align.Client)(nil)

// HealthResult is one company's check.
type HealthResult struct {
	CompanyID string
	Outcome   string
}

// WatchHealth checks every connected company about once per every, until ctx
// ends, and keeps the connections gauge true to the database. Several serve
// instances may run it: each claims only the connections nobody checked
// within every.
func (s *Service) WatchHealth(ctx context.Context, every time.Duration) {
	tick := min(every/4, time.Minute)
	t := time.NewTicker(max(tick, 10*time.Millisecond))
	defer t.Stop()
	for {
		if _, err := s.CheckHealth(ctx, every); err != nil && ctx.Err() == nil {
			s.log.Warn("checking align connections failed", slog.Any("error", err))
		}
		if err := s.countConnections(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("counting align connections failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckHealth checks the connected companies not checked within every (at
// most healthBatch of them): the key still answers GET /me and the webhook
// is still registered. A key Align refuses puts the connection in error with
// the guide's message; a webhook that is gone is registered again under a
// new connection id, and when that fails the connection goes in error with
// "Webhook registration failed". Align giving no verdict changes nothing.
func (s *Service) CheckHealth(ctx context.Context, every time.Duration) ([]HealthResult, error) {
	if s.baseURL == "" {
		return nil, errNoAlign
	}
	companies, err := credentials.ClaimUnchecked(ctx, s.pool, every, healthBatch)
	if err != nil {
		return nil, err
	}
	results := make([]HealthResult, len(companies))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(healthWorkers, len(companies)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outcome := s.checkOne(ctx, companies[i])
				s.metrics.healthCheck(outcome)
				results[i] = HealthResult{CompanyID: companies[i], Outcome: outcome}
			}
		}()
	}
	for i := range companies {
		next <- i
	}
	close(next)
	wg.Wait()
	return results, ctx.Err()
}

// checkOne checks one company and says how it went.
func (s *Service) checkOne(ctx context.Context, company string) string {
	log := s.log.With(slog.String("company_id", company))
	row, found, err := credentials.Load(ctx, s.pool, company, false)
	if err != nil || !found || row.Status != credentials.StatusConnected {
		return s.internal(log, err)
	}
	c, key, err := s.clientFor(company, row.APIKey)
	if err != nil {
		return s.internal(log, err)
	}
	api, ok := c.(healthAPI)
	if !ok {
		return s.internal(log, errors.New("the Align client cannot list webhooks"))
	}
	if _, err := api.Me(ctx); err != nil {
		return s.refused(ctx, log, row, key, checkFailed(err, meFailed))
	}
	registered, err := hasWebhook(ctx, api, deref(row.WebhookID))
	if err != nil {
		return s.refused(ctx, log, row, key, checkFailed(err, func(err error) *Failure {
			if align.IsAuthFailure(err) {
				return meFailed(err)
			}
			return webhookFailed(err) // the key may not read webhooks
		}))
	}
	if registered {
		return HealthHealthy
	}
	return s.reregister(ctx, log, row, api, key)
}

// hasWebhook reports whether Align still lists the webhook id.
func hasWebhook(ctx context.Context, api healthAPI, id string) (bool, error) {
	for wh, err := range api.ListWebhooks(ctx) {
		if err != nil {
			return false, err
		}
		if id != "" && wh.ID == id {
			return true, nil
		}
	}
	return false, nil
}

// checkFailed classifies a failed call of a check: verdict's Failure for an
// answer from Align that will not change on a retry, align_unavailable for
// anything else (5xx, 408, 429, no answer), which changes nothing.
func checkFailed(err error, verdict func(error) *Failure) *Failure {
	if align.Retryable(err) {
		return &Failure{Code: CodeAlignUnavailable, Message: "Align did not answer", cause: err}
	}
	return verdict(err)
}

// refused records what Align's answer means: a verdict on the key or the
// webhook puts the connection in error; no verdict changes nothing.
func (s *Service) refused(ctx context.Context, log *slog.Logger, row credentials.Row, key string, f *Failure) string {
	if f.Code == CodeAlignUnavailable {
		log.Info("align connection check got no verdict; checking again later", errorAttr(f, key))
		return HealthUnavailable
	}
	if err := credentials.MarkCheckedError(ctx, s.pool, row, f.Message); err != nil {
		return s.internal(log, err)
	}
	cause := error(f)
	if f.cause != nil {
		cause = f.cause
	}
	log.Warn("align connection in error: "+f.Message, errorAttr(cause, key))
	if f.Code == CodeWebhookFailed {
		return HealthWebhookFail
	}
	return HealthKeyInvalid
}

// internal reports a fault of ours; nil means the connection changed since
// it was claimed, and there is nothing to check.
func (s *Service) internal(log *slog.Logger, err error) string {
	if err == nil {
		return HealthSkipped
	}
	log.Error("checking an align connection failed", slog.Any("error", err))
	return HealthError
}

// reregister registers a new webhook for a connection whose webhook is gone,
// under a new connection id (a verifier cached for the old one cannot refuse
// the new secret's deliveries), holding the company's connect lock so that a
// reconnect cannot interleave.
func (s *Service) reregister(ctx context.Context, log *slog.Logger, row credentials.Row, api healthAPI, key string) string {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.internal(log, fmt.Errorf("beginning webhook re-registration: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := credentials.Lock(ctx, tx, row.CompanyID); err != nil {
		return s.internal(log, err)
	}
	cur, found, err := credentials.Load(ctx, tx, row.CompanyID, true)
	if err != nil || !found || cur.ConnectionID != row.ConnectionID || cur.Status != credentials.StatusConnected {
		return s.internal(log, err) // reconnected or disconnected meanwhile
	}
	connectionID := uuid.NewString()
	wh, err := api.CreateWebhook(ctx, "alignsync-health-"+connectionID, align.CreateWebhookRequest{
		DestinationURL: s.WebhookURL(connectionID), EventNames: ingest.Events(),
	})
	if err == nil && (wh.ID == "" || wh.HMACSecret == "") {
		err = errors.New("POST /webhooks answered without an id or a secret")
	}
	if err != nil {
		// Release the row first: refused updates it on another connection,
		// guarded by the connection id.
		_ = tx.Rollback(ctx)
		return s.refused(ctx, log, row, key, checkFailed(err, webhookFailed))
	}
	sealed, err := s.keyring.Seal(row.CompanyID, []byte(wh.HMACSecret))
	if err == nil {
		err = credentials.ReplaceWebhook(ctx, tx, row.CompanyID, connectionID, wh.ID, sealed)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		s.deleteWebhook(ctx, log, api, key, wh.ID) // it points at a connection id never stored
		return s.internal(log, fmt.Errorf("storing the re-registered webhook: %w", err))
	}
	log.Warn("align webhook was gone; registered again", slog.String("webhook_id", wh.ID),
		slog.String("connection_id", connectionID), slog.String("replaced_webhook_id", deref(row.WebhookID)))
	return HealthReregistered
}

// countConnections sets the connections gauge from the database, so that
// every instance reports the same numbers.
func (s *Service) countConnections(ctx context.Context) error {
	if s.metrics == nil {
		return nil
	}
	counts, err := credentials.CountByStatus(ctx, s.pool)
	if err != nil {
		return err
	}
	s.metrics.setConnections(counts)
	return nil
}
