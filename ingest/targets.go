package ingest

import (
	"context"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/illumera/alignsync/connect/credentials"
)

// targetTTL bounds how long a connection's decrypted webhook secret stays in
// memory; targetLimit bounds how many do.
const (
	targetTTL   = time.Minute
	targetLimit = 10000
)

// target is a resolved connection with its signature verifier.
type target struct {
	credentials.Webhook
	verifier *standardwebhooks.Webhook
	expires  time.Time
}

// targets caches resolved connections, saving a query and a decryption per
// delivery. A cached entry can only be stale in one way that matters, a
// connection that was disconnected or replaced since; the delivery's
// insert re-checks that the connection is live in the same statement
// (insertDelivery), so a stale entry never lets a delivery through.
type targets struct {
	conns Connections
	mu    sync.Mutex
	m     map[string]target
}

func newTargets(conns Connections) *targets {
	return &targets{conns: conns, m: map[string]target{}}
}

// get resolves connectionID; errors are the store's (ErrNotConnected for an
// unknown or disconnected connection) or a secret the library refuses.
func (t *targets) get(ctx context.Context, connectionID string) (target, error) {
	now := time.Now()
	t.mu.Lock()
	tg, ok := t.m[connectionID]
	t.mu.Unlock()
	if ok && now.Before(tg.expires) {
		return tg, nil
	}
	wh, err := t.conns.WebhookTarget(ctx, connectionID)
	if err != nil {
		return target{}, err
	}
	v, err := standardwebhooks.NewWebhook(wh.Secret)
	if err != nil {
		return target{}, errUnusableSecret
	}
	tg = target{Webhook: wh, verifier: v, expires: now.Add(targetTTL)}
	tg.Secret = "" // the verifier holds the key; keep no second copy
	t.mu.Lock()
	if len(t.m) >= targetLimit {
		clear(t.m)
	}
	t.m[wh.ConnectionID] = tg
	t.mu.Unlock()
	return tg, nil
}

// forget drops a connection found not to be live.
func (t *targets) forget(connectionID string) {
	t.mu.Lock()
	delete(t.m, connectionID)
	t.mu.Unlock()
}
