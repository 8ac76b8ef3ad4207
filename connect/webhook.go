package connect

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/sinks/align"
)

// cleanupTimeout bounds a best-effort webhook deletion.
const cleanupTimeout = 10 * time.Second

// hook is the webhook a connect ends with.
type hook struct {
	connectionID string
	id           string
	secret       string             // plaintext, only for a new webhook
	sealed       credentials.Sealed // the stored secret, only for a kept one
	kept         bool
}

// webhookFor returns the webhook of a connect: the stored one, with its
// connection id and secret, when the key replaces a key of the same
// organization and Align (asked with the new key) still lists it at this
// deployment's URL, so deliveries Align is still retrying keep arriving;
// otherwise a new one under a new connection id. An error is Align's refusal
// to register the new one.
func (s *Service) webhookFor(ctx context.Context, log *slog.Logger, client AlignAPI, apiKey string, old credentials.Row, hadOld bool, orgID string) (hook, error) {
	if hadOld && old.Status != credentials.StatusDisconnected && deref(old.OrganizationID) == orgID &&
		old.WebhookID != nil && len(old.WebhookSecret.Ciphertext) > 0 {
		found, err := listed(ctx, client, *old.WebhookID, s.WebhookURL(old.ConnectionID))
		if err == nil && found {
			return hook{connectionID: old.ConnectionID, id: *old.WebhookID, sealed: old.WebhookSecret, kept: true}, nil
		}
		if err != nil {
			log.Info("listing align webhooks failed; registering a new one", errorAttr(err, apiKey))
		}
	}
	connectionID := uuid.NewString()
	wh, err := client.CreateWebhook(ctx, "alignsync-connect-"+connectionID, align.CreateWebhookRequest{
		DestinationURL: s.WebhookURL(connectionID),
		EventNames:     ingest.Events(),
	})
	if err == nil && (wh.ID == "" || wh.HMACSecret == "") {
		err = errors.New("POST /webhooks answered without an id or a secret")
	}
	if err != nil {
		return hook{}, err
	}
	return hook{connectionID: connectionID, id: wh.ID, secret: wh.HMACSecret}, nil
}

// listed reports whether Align lists webhook id with destination url.
func listed(ctx context.Context, client AlignAPI, id, url string) (bool, error) {
	for wh, err := range client.ListWebhooks(ctx) {
		if err != nil {
			return false, err
		}
		if wh.ID == id {
			return wh.DestinationURL == url, nil
		}
	}
	return false, nil
}

// deleteOldWebhook removes the webhook a reconnect replaced: with the new key
// when it belongs to the same organization (the old key may be why the admin
// reconnected), else with the old key.
func (s *Service) deleteOldWebhook(ctx context.Context, log *slog.Logger, company string, old credentials.Row, orgID string, current AlignAPI, currentKey string) {
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
