package align

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Webhook is a webhook subscription. HMACSecret is set only in CreateWebhook's answer.
type Webhook struct {
	ID             string    `json:"id"`
	DestinationURL string    `json:"destinationUrl"`
	EventNames     []string  `json:"eventNames"`
	HMACSecret     string    `json:"hmacSecret,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

// CreateWebhookRequest is the body of POST /webhooks. The event names belong to the webhook
// deliveries' wire format, which the receiver owns (ingest.Events); the client passes them through.
type CreateWebhookRequest struct {
	DestinationURL string   `json:"destinationUrl"`
	EventNames     []string `json:"eventNames"`
}

// CreateWebhook subscribes destinationUrl to events (org key). The answer carries the signing
// secret, which Align never shows again: store it before anything else can fail.
func (c *Client) CreateWebhook(ctx context.Context, idemKey string, req CreateWebhookRequest) (Webhook, error) {
	var w Webhook
	_, err := c.do(ctx, request{
		method: http.MethodPost, route: routeWebhooks, idemKey: idemKey, body: req,
	}, &w)
	return w, err
}

// ListWebhooks lists the organization's webhooks, without secrets (org key).
func (c *Client) ListWebhooks(ctx context.Context) iter.Seq2[Webhook, error] {
	return listAll[Webhook](ctx, c, request{method: http.MethodGet, route: routeWebhooks})
}

// DeleteWebhook deletes a webhook (org key); an unknown one gives a 404 APIError (IsNotFound).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, route: routeWebhook, ids: []string{id}}, nil)
	return err
}
