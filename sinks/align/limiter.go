package align

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRatePerMinute is Align's documented per-key limit.
const DefaultRatePerMinute = 600

// Limiters holds one client-side rate limiter per API key, so that every Client built for the
// same key (one per company lane, rebuilt after a reconnect) draws from the same budget. Keys are
// held only as SHA-256 hashes. The zero value is ready to use and safe for concurrent use.
type Limiters struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*keyLimiter
}

type keyLimiter struct {
	lim      *rate.Limiter
	lastUsed time.Time
}

// NewLimiters returns an empty registry.
func NewLimiters() *Limiters { return &Limiters{} }

// forKey returns the key's limiter, creating it at perMinute. When clients of one key ask for
// different rates, the strictest wins, so no client pushes the key over its limit.
func (l *Limiters) forKey(apiKey string, perMinute int) *rate.Limiter {
	h := sha256.Sum256([]byte(apiKey))
	limit, burst := limiterShape(perMinute)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[[sha256.Size]byte]*keyLimiter)
	}
	kl, ok := l.m[h]
	if !ok {
		kl = &keyLimiter{lim: rate.NewLimiter(limit, burst)}
		l.m[h] = kl
	}
	kl.lastUsed = time.Now()
	if limit < kl.lim.Limit() {
		kl.lim.SetLimit(limit)
		kl.lim.SetBurst(burst)
	}
	return kl.lim
}

// Prune forgets the limiters of keys no client was built for in the last
// idle, which must be at least a minute: by then their buckets are full
// again, so a new limiter is the same as the old one. Memory then follows the
// keys in use, not every key ever seen.
func (l *Limiters) Prune(idle time.Duration) int {
	idle = max(idle, time.Minute)
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for h, kl := range l.m {
		if time.Since(kl.lastUsed) > idle {
			delete(l.m, h)
			n++
		}
	}
	return n
}

// RateBudgetError is a call that did not wait for the key's rate budget:
// the next request may be sent only after Wait (see Config.MaxRateWait).
type RateBudgetError struct {
	Route string
	Wait  time.Duration
}

func (e *RateBudgetError) Error() string {
	return fmt.Sprintf("align %s: the key's rate budget is spent for %s", e.Route, e.Wait.Round(time.Millisecond))
}

// wait takes the limiter's next token, waiting for it unless that would take
// longer than maxWait (when positive): then it takes nothing and says how
// long the wait would be.
func waitToken(ctx context.Context, lim *rate.Limiter, maxWait time.Duration, route string) error {
	if maxWait <= 0 {
		return lim.Wait(ctx)
	}
	r := lim.Reserve()
	if !r.OK() {
		return &RateBudgetError{Route: route, Wait: maxWait}
	}
	d := r.Delay()
	if d > maxWait {
		r.Cancel()
		return &RateBudgetError{Route: route, Wait: d}
	}
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// delayOf is how long until lim lets the next request through.
func delayOf(lim *rate.Limiter) time.Duration {
	now := time.Now()
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	if lim.Limit() <= 0 {
		return time.Hour
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
}

// limiterShape turns a per-minute budget into a token bucket. A bucket lets through at most
// burst + rate×60 requests in any 60 s, so the refill rate leaves room for the burst and a
// sliding-window server limit is never exceeded.
func limiterShape(perMinute int) (rate.Limit, int) {
	burst := max(1, perMinute/60)
	refill := perMinute - burst
	if refill < 1 {
		refill = 1
	}
	return rate.Limit(float64(refill) / 60), burst
}
