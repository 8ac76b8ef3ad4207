package align

import (
	"crypto/sha256"
	"sync"

	"golang.org/x/time/rate"
)

// DefaultRatePerMinute is Align's documented per-key limit.
const DefaultRatePerMinute = 600

// Limiters holds one client-side rate limiter per API key, so that every Client built for the
// same key (one per company lane, rebuilt after a reconnect) draws from the same budget. Keys are
// held only as SHA-256 hashes. The zero value is ready to use and safe for concurrent use.
type Limiters struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*rate.Limiter
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
		l.m = make(map[[sha256.Size]byte]*rate.Limiter)
	}
	lim, ok := l.m[h]
	if !ok {
		lim = rate.NewLimiter(limit, burst)
		l.m[h] = lim
		return lim
	}
	if limit < lim.Limit() {
		lim.SetLimit(limit)
		lim.SetBurst(burst)
	}
	return lim
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
