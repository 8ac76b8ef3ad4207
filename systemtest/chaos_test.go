package systemtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/illumera/alignsync/alignsim"
)

// phase is a spell of Align faults. Webhook faults (drops, duplicates,
// reordering) and a little latency hold in every phase.
type phase struct {
	name   string
	faults alignsim.Faults
}

func ptr[T any](v T) *T { return &v }

var phases = []phase{
	{"5% errors (503)", alignsim.Faults{ErrorRate: ptr(0.05), Status: ptr(503), RateLimitPerMinute: ptr(600)}},
	{"rate limit 90/min per key", alignsim.Faults{ErrorRate: ptr(0.02), Status: ptr(503), RateLimitPerMinute: ptr(90)}},
	{"30% errors (500)", alignsim.Faults{ErrorRate: ptr(0.30), Status: ptr(500), RateLimitPerMinute: ptr(600)}},
	{"15% injected 429", alignsim.Faults{ErrorRate: ptr(0.15), Status: ptr(429), RateLimitPerMinute: ptr(600)}},
	{"calm", alignsim.Faults{ErrorRate: ptr(0.0), RateLimitPerMinute: ptr(600)}},
}

// webhookFaults hold throughout the workload.
var webhookFaults = alignsim.Faults{LatencyMs: ptr(5), DropWebhooks: ptr(0.05), DuplicateWebhooks: ptr(0.10), ReorderWebhooks: ptr(true)}

// noFaults is Align behaving well again.
var noFaults = alignsim.Faults{ErrorRate: ptr(0.0), RateLimitPerMinute: ptr(600), LatencyMs: ptr(0),
	DropWebhooks: ptr(0.0), DuplicateWebhooks: ptr(0.0), ReorderWebhooks: ptr(false)}

// chaos injects Align faults phase after phase and SIGKILLs components at
// random moments, restarting each a random moment later.
type chaos struct {
	c        *cluster
	rng      *rand.Rand
	phaseLen time.Duration
	killGap  [2]time.Duration // shortest and longest time between two kills

	phasesRun map[string]int
	killLog   []string
	order     []int // the first round of kills
	picked    int
}

func (ch *chaos) runFaults(ctx context.Context) error {
	if _, err := ch.c.ctl.SetFaults(ctx, webhookFaults); err != nil {
		return fmt.Errorf("setting the webhook faults: %w", err)
	}
	for i := 0; ; i++ {
		p := phases[i%len(phases)]
		if _, err := ch.c.ctl.SetFaults(ctx, p.faults); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("setting the faults of phase %q: %w", p.name, err)
		}
		ch.phasesRun[p.name]++
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(ch.phaseLen):
		}
	}
}

// runKills kills one component at a time, now and then both sinks at once
// (no executor left), until ctx ends; then makes sure everything runs.
func (ch *chaos) runKills(ctx context.Context, start time.Time) {
	defer ch.restartAll()
	for {
		gap := ch.killGap[0] + time.Duration(ch.rng.Int64N(int64(ch.killGap[1]-ch.killGap[0])))
		select {
		case <-ctx.Done():
			return
		case <-time.After(gap):
		}
		victims := ch.pick()
		var names []string
		for _, v := range victims {
			if v.kill() {
				names = append(names, v.name)
			}
		}
		down := time.Duration(ch.rng.Int64N(int64(2 * time.Second)))
		ch.killLog = append(ch.killLog, fmt.Sprintf("%s +%s SIGKILL %s, down %s", time.Now().Format(time.TimeOnly),
			time.Since(start).Round(time.Second), strings.Join(names, " and "), down.Round(10*time.Millisecond)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(down):
		}
		ch.restartAll()
	}
}

// pick chooses the next victims: first every component once, in a random
// order, so that even a short run kills each of them; then any one at
// random, and now and then both sinks.
func (ch *chaos) pick() []*component {
	all := ch.c.components()
	if ch.order == nil {
		ch.order = ch.rng.Perm(len(all))
	}
	if ch.picked < len(all) {
		ch.picked++
		return []*component{all[ch.order[ch.picked-1]]}
	}
	if ch.rng.IntN(10) == 0 {
		return ch.c.sinks
	}
	return []*component{all[ch.rng.IntN(len(all))]}
}

func (ch *chaos) restartAll() {
	for _, comp := range ch.c.components() {
		if err := comp.start(); err != nil {
			ch.c.t.Errorf("restarting %s: %v", comp.name, err)
		}
	}
}

func (ch *chaos) phaseSummary() string {
	var parts []string
	for name, n := range ch.phasesRun {
		parts = append(parts, fmt.Sprintf("%s ×%d", name, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
