package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/sinks/align"
)

// laneState is where a leased company is in this instance.
type laneState int

const (
	queued  laneState = iota // waiting for a slot
	running                  // in a slot
	waiting                  // its rate budget or a retry comes due within HoldWait
)

// lane is a company this instance holds the lease of. Only the scheduler's
// lock guards its state, dirty and lost; the rest belongs to the slot that
// runs it.
type lane struct {
	lease ledger.Lease
	since time.Time // when the lease was claimed
	state laneState
	dirty bool // work was recorded for it while it was running or waiting
	timer *time.Timer
	// validTil is the local deadline (unix nanoseconds) past which the lease
	// may have expired: renewals push it on. lost: another instance took it.
	validTil atomic.Int64
	lost     atomic.Bool

	client *align.Client
	key    string
	links  linkCache
}

// held reports whether the lease is still this instance's as far as it
// knows: checked before every Align call, so an instance whose renewals stall
// stops calling Align before another one can take the company over.
func (l *lane) held() bool {
	return !l.lost.Load() && time.Now().UnixNano() < l.validTil.Load()
}

// scheduler hands slots to leased companies in turn and claims, renews and
// releases their leases. A company runs in at most one slot at a time, and
// one that must wait gives its slot back.
type scheduler struct {
	s     *Sink
	queue chan *lane // round robin of lanes ready for a turn; each lane is in it at most once
	poke  chan struct{}

	mu      sync.Mutex
	lanes   map[string]*lane
	wanted  map[string]bool // companies this instance recorded work for and does not hold
	running int
}

func newScheduler(s *Sink) *scheduler {
	return &scheduler{s: s, queue: make(chan *lane, s.cfg.MaxLeased), poke: make(chan struct{}, 1),
		lanes: map[string]*lane{}, wanted: map[string]bool{}}
}

// run serves slots until ctx ends, then hands every lease back.
func (sc *scheduler) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < sc.s.cfg.Slots; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); sc.worker(ctx) }()
	}
	for _, f := range []func(context.Context){sc.claimLoop, sc.renewLoop, sc.sweepLoop, sc.listenLoop} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	wg.Wait()
	sc.mu.Lock()
	for _, l := range sc.lanes {
		sc.dropLocked(l) // stops its timer: every lease is handed back below
	}
	sc.mu.Unlock()
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sc.s.ledger.ReleaseAll(rctx, sc.s.cfg.Instance); err != nil {
		sc.s.logger.Warn("handing leases back failed; other instances take them over when they expire", slog.Any("error", err))
	}
}

// wake is intake's news: these companies have new work. Those this
// instance does not hold it claims at once.
func (sc *scheduler) wake(companies []string) {
	if len(companies) == 0 {
		return
	}
	sc.mu.Lock()
	for _, c := range companies {
		if l, ok := sc.lanes[c]; ok {
			sc.newWorkLocked(l)
		} else {
			sc.wanted[c] = true
		}
	}
	sc.mu.Unlock()
	sc.pokeClaimer()
}

// nudge is the news any instance's intake announced on the ledger's work
// channel (this one's too): a company this instance holds runs at once
// instead of waiting out its idle hold; the others are left to whoever
// recorded their work.
func (sc *scheduler) nudge(companies []string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, c := range companies {
		if l, ok := sc.lanes[c]; ok {
			sc.newWorkLocked(l)
		}
	}
}

// newWorkLocked gives a held company with new work a turn: now when it was
// waiting, after its current turn when it is running.
func (sc *scheduler) newWorkLocked(l *lane) {
	switch l.state {
	case waiting:
		l.timer.Stop()
		sc.enqueueLocked(l)
	case running:
		l.dirty = true
	}
}

func (sc *scheduler) pokeClaimer() {
	select {
	case sc.poke <- struct{}{}:
	default:
	}
}

func (sc *scheduler) enqueueLocked(l *lane) {
	l.state = queued
	sc.queue <- l // never blocks: the queue holds every leased lane at most once
}

func (sc *scheduler) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case l := <-sc.queue:
			sc.serve(ctx, l)
		}
	}
}

// serve gives one lane a turn, then decides where it goes next: back in the
// round robin, waiting a moment with its lease, or released.
func (sc *scheduler) serve(ctx context.Context, l *lane) {
	sc.mu.Lock()
	if l.lost.Load() {
		sc.dropLocked(l)
		sc.mu.Unlock()
		return
	}
	l.state, l.dirty = running, false
	sc.running++
	sc.s.metrics.slotsBusy.Set(float64(sc.running))
	sc.mu.Unlock()

	res, err := sc.s.runTurn(ctx, l)
	if err != nil && ctx.Err() == nil && !errors.Is(err, ledger.ErrLeaseLost) {
		sc.s.logger.Warn("a company's turn failed; it is retried", slog.String("company_id", l.lease.CompanyID), slog.Any("error", err))
		res = turnResult{notBefore: time.Now().Add(sc.s.cfg.RetryInterval)}
	}

	sc.mu.Lock()
	sc.running--
	sc.s.metrics.slotsBusy.Set(float64(sc.running))
	release := false
	switch {
	case ctx.Err() != nil: // shutting down: every lease is handed back at once
	case errors.Is(err, ledger.ErrLeaseLost) || l.lost.Load():
		sc.s.metrics.leasesLost.Inc()
		sc.dropLocked(l)
	default:
		release = sc.nextLocked(l, res)
	}
	sc.mu.Unlock()
	if release {
		sc.release(l, res)
	}
}

// nextLocked places a lane after its turn and reports whether to release
// it; the lane is then no longer this instance's.
func (sc *scheduler) nextLocked(l *lane, res turnResult) bool {
	now := time.Now()
	inSession := now.Sub(l.since) < sc.s.cfg.SessionMax && l.held()
	switch {
	case res.idle:
	case (res.more || l.dirty) && res.notBefore.IsZero() && inSession:
		sc.enqueueLocked(l)
		return false
	case !res.notBefore.IsZero() && res.notBefore.Sub(now) <= sc.s.cfg.HoldWait && inSession:
		l.state = waiting
		l.timer = time.AfterFunc(res.notBefore.Sub(now), func() {
			sc.mu.Lock()
			defer sc.mu.Unlock()
			if sc.lanes[l.lease.CompanyID] == l && l.state == waiting {
				sc.enqueueLocked(l)
			}
		})
		return false
	case res.notBefore.IsZero() && inSession:
		// Out of work: keep the lease a moment for the next change (wake runs
		// it at once), then hand it back.
		l.state = waiting
		l.timer = time.AfterFunc(sc.s.cfg.IdleHold, func() { sc.idleTimeout(l) })
		return false
	}
	sc.dropLocked(l)
	return true
}

// idleTimeout releases a lane that waited IdleHold for work in vain.
func (sc *scheduler) idleTimeout(l *lane) {
	sc.mu.Lock()
	release := sc.lanes[l.lease.CompanyID] == l && l.state == waiting
	if release {
		sc.dropLocked(l)
	}
	sc.mu.Unlock()
	if release {
		sc.release(l, turnResult{})
	}
}

// release hands the lease back; the ledger works out when the company is
// next ready.
func (sc *scheduler) release(l *lane, res turnResult) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sc.s.ledger.Release(ctx, l.lease, res.notBefore, res.idle); err != nil {
		sc.s.logger.Warn("releasing a company failed; its lease expires instead", slog.String("company_id", l.lease.CompanyID),
			slog.Any("error", err))
	}
	sc.pokeClaimer()
}

func (sc *scheduler) dropLocked(l *lane) {
	if sc.lanes[l.lease.CompanyID] == l {
		delete(sc.lanes, l.lease.CompanyID)
	}
	if l.timer != nil {
		l.timer.Stop()
	}
	sc.s.metrics.leased.Set(float64(len(sc.lanes)))
}
