package capture

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff doubles a delay from min to max, with jitter so that processes
// restarted together do not retry in step.
type backoff struct {
	min, max, next time.Duration
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, next: min}
}

func (b *backoff) reset() { b.next = b.min }

// delay returns the next delay and doubles the one after.
func (b *backoff) delay() time.Duration {
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(2*b.next, b.max)
	return d
}

// wait sleeps for the next delay; false means ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	return sleepCtx(ctx, b.delay())
}
