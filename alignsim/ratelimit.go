package alignsim

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

const rateWindow = time.Minute

// limiter is the per-key sliding window of align-contract.md §1: a request is
// allowed when fewer than limit requests of that key arrived in the last
// minute. Rejected requests are not recorded.
type limiter struct {
	windows map[string][]time.Time // per API key id, oldest first
}

type rateInfo struct {
	limit     int
	remaining int
	reset     int // seconds until the oldest request leaves the window
}

func newLimiter() *limiter { return &limiter{windows: map[string][]time.Time{}} }

func (l *limiter) take(keyID string, now time.Time, limit int) (rateInfo, bool) {
	w := l.windows[keyID]
	cut := 0
	for cut < len(w) && !w[cut].Add(rateWindow).After(now) {
		cut++
	}
	w = w[cut:]
	allowed := len(w) < limit
	if allowed {
		w = append(w, now)
	}
	l.windows[keyID] = w
	info := rateInfo{limit: limit, remaining: max(limit-len(w), 0)}
	info.reset = int(rateWindow.Seconds())
	if len(w) > 0 {
		info.reset = secondsUntil(w[0].Add(rateWindow), now)
	}
	return info, allowed
}

// secondsUntil rounds up, and is at least 1 so that Retry-After never
// invites an immediate retry.
func secondsUntil(t, now time.Time) int {
	return max(int(math.Ceil(t.Sub(now).Seconds())), 1)
}

func (r rateInfo) apply(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(r.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(r.remaining))
	h.Set("X-RateLimit-Reset", strconv.Itoa(r.reset))
}
