package connect

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/illumera/alignsync/sinks/align"
)

// AlignAPI is the part of the Align client that connecting needs.
type AlignAPI interface {
	Me(ctx context.Context) (align.KeyInfo, error)
	CreateWebhook(ctx context.Context, idemKey string, req align.CreateWebhookRequest) (align.Webhook, error)
	ListWebhooks(ctx context.Context) iter.Seq2[align.Webhook, error]
	DeleteWebhook(ctx context.Context, id string) error
}

var _ AlignAPI = (*align.Client)(nil)

// ClientFactory builds an Align client that calls with apiKey.
type ClientFactory func(apiKey string) (AlignAPI, error)

// NewClientFactory builds clients of the Align API at baseURL (with the
// version, e.g. https://app.alignsoft.us/api/v1). hc may be nil. An admin is
// waiting on the answer, so a call is tried at most three times, each within
// 10 s.
func NewClientFactory(baseURL string, hc *http.Client) ClientFactory {
	limiters := align.NewLimiters()
	return func(apiKey string) (AlignAPI, error) {
		return align.New(align.Config{
			BaseURL:      baseURL,
			APIKey:       apiKey,
			HTTPClient:   hc,
			Timeout:      10 * time.Second,
			MaxAttempts:  3,
			RetryInitial: 200 * time.Millisecond,
			RetryMax:     2 * time.Second,
			Limiters:     limiters,
			UserAgent:    "alignsync-connect",
		})
	}
}
