package align

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiterSharedAcrossClientsOfOneKey(t *testing.T) {
	f := newFake(t, func(int, *http.Request) reply {
		return reply{Status: 200, Body: `{"apiKeyId":"k"}`}
	})
	shared := NewLimiters()
	onePerMinute := func(key string) func(*Config) {
		return func(cfg *Config) { cfg.APIKey, cfg.RatePerMinute, cfg.Limiters = key, 1, shared }
	}
	first := newTestClient(t, f, onePerMinute(testKey))
	second := newTestClient(t, f, onePerMinute(testKey))
	otherKey := newTestClient(t, f, onePerMinute(testKey+"2"))
	unshared := newTestClient(t, f, func(cfg *Config) { cfg.RatePerMinute = 1 })

	if first.limiter != second.limiter || first.limiter == otherKey.limiter || first.limiter == unshared.limiter {
		t.Fatal("limiters are not shared per key")
	}
	// A deadline far shorter than the refill makes rate.Limiter refuse at once instead of waiting.
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	if _, err := first.Me(short()); err != nil {
		t.Fatalf("first client: %v", err)
	}
	if _, err := second.Me(short()); err == nil || !Retryable(err) {
		t.Fatalf("second client of the same key: err = %v, want a retryable limiter refusal", err)
	}
	if _, err := otherKey.Me(short()); err != nil {
		t.Errorf("client of another key: %v", err)
	}
	if _, err := unshared.Me(short()); err != nil {
		t.Errorf("client with its own limiter: %v", err)
	}
	if got := len(f.requests()); got != 3 {
		t.Errorf("requests reaching the server = %d, want 3", got)
	}
}

func TestLimiterShapeStaysUnderSlidingWindow(t *testing.T) {
	for _, perMinute := range []int{1, 2, 60, 100, 600, 6000} {
		limit, burst := limiterShape(perMinute)
		if worst := float64(burst) + float64(limit)*60; perMinute > 1 && worst > float64(perMinute) {
			t.Errorf("%d/min: burst %d + 60 s × %v = %v requests in a window", perMinute, burst, limit, worst)
		}
		if limit <= 0 || burst < 1 {
			t.Errorf("%d/min: limit %v burst %d would block forever", perMinute, limit, burst)
		}
	}
}

func TestStricterClientLowersSharedLimit(t *testing.T) {
	shared := NewLimiters()
	lim := shared.forKey(testKey, 600)
	shared.forKey(testKey, 60)
	if want, _ := limiterShape(60); lim.Limit() != want {
		t.Errorf("limit = %v, want %v", lim.Limit(), want)
	}
	shared.forKey(testKey, 6000)
	if want, _ := limiterShape(60); lim.Limit() != rate.Limit(want) {
		t.Errorf("a looser client raised the limit to %v", lim.Limit())
	}
}
