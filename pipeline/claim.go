package pipeline

import (
	"context"
	"log/slog"
	"time"

	"github.com/illumera/alignsync/pipeline/ledger"
)

// claimLoop claims companies with ready work when slots can take them: at
// once for companies this instance just recorded work for, and on a short
// poll for the rest (work recorded by other instances, retries coming due).
func (sc *scheduler) claimLoop(ctx context.Context) {
	t := time.NewTicker(sc.s.cfg.ClaimInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-sc.poke:
		}
		if more := sc.claim(ctx); more {
			sc.pokeClaimer()
		}
	}
}

// claim takes as many companies as this instance has room for, those it
// recorded work for first. It reports whether there may be more to take.
func (sc *scheduler) claim(ctx context.Context) bool {
	sc.mu.Lock()
	room := min(sc.s.cfg.MaxLeased-len(sc.lanes), sc.s.cfg.Slots-len(sc.queue))
	wanted := make([]string, 0, len(sc.wanted))
	for c := range sc.wanted {
		if _, held := sc.lanes[c]; !held && len(wanted) < room {
			wanted = append(wanted, c)
		}
	}
	clear(sc.wanted)
	sc.mu.Unlock()
	if room <= 0 {
		return false
	}
	var leases []ledger.Lease
	if len(wanted) > 0 {
		got, err := sc.s.ledger.Claim(ctx, sc.s.cfg.Instance, sc.s.cfg.LeaseTTL, len(wanted), wanted)
		if err != nil {
			sc.claimFailed(ctx, err)
			return false
		}
		leases = got
	}
	if n := room - len(leases); n > 0 {
		got, err := sc.s.ledger.Claim(ctx, sc.s.cfg.Instance, sc.s.cfg.LeaseTTL, n, nil)
		if err != nil {
			sc.claimFailed(ctx, err)
		}
		leases = append(leases, got...)
		if len(got) < n {
			room = 0 // nothing more is ready
		}
	}
	sc.adopt(leases)
	return room > 0 && len(leases) > 0
}

func (sc *scheduler) claimFailed(ctx context.Context, err error) {
	if ctx.Err() == nil {
		sc.s.logger.Warn("claiming companies failed; retrying", slog.Any("error", err))
	}
}

// adopt puts newly leased companies in the round robin.
func (sc *scheduler) adopt(leases []ledger.Lease) {
	if len(leases) == 0 {
		return
	}
	now := time.Now()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, ls := range leases {
		if ls.Takeover {
			sc.s.metrics.takeovers.Inc()
		}
		l := &lane{lease: ls, since: now, links: linkCache{}}
		l.validTil.Store(now.Add(sc.s.cfg.LeaseTTL * 2 / 3).UnixNano())
		sc.lanes[ls.CompanyID] = l
		sc.enqueueLocked(l)
	}
	sc.s.metrics.leased.Set(float64(len(sc.lanes)))
}

// renewLoop keeps the leases alive and notices those taken over (this
// instance stalled past their expiry). A lane whose renewals fail stops
// calling Align once its local deadline passes.
func (sc *scheduler) renewLoop(ctx context.Context) {
	t := time.NewTicker(sc.s.cfg.LeaseTTL / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sc.mu.Lock()
		leases := make([]ledger.Lease, 0, len(sc.lanes))
		for _, l := range sc.lanes {
			leases = append(leases, l.lease)
		}
		sc.mu.Unlock()
		sent := time.Now()
		lost, err := sc.s.ledger.Renew(ctx, sc.s.cfg.Instance, sc.s.cfg.LeaseTTL, leases)
		if err != nil {
			if ctx.Err() == nil {
				sc.s.logger.Warn("renewing leases failed", slog.Any("error", err))
			}
			continue
		}
		sc.renewed(leases, lost, sent.Add(sc.s.cfg.LeaseTTL*2/3))
	}
}

func (sc *scheduler) renewed(leases []ledger.Lease, lost map[string]bool, validTil time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, ls := range leases {
		l, ok := sc.lanes[ls.CompanyID]
		if !ok || l.lease.Epoch != ls.Epoch {
			continue
		}
		if !lost[ls.CompanyID] {
			l.validTil.Store(validTil.UnixNano())
			continue
		}
		l.lost.Store(true)
		if l.state == waiting {
			sc.dropLocked(l)
		}
	}
}

// sweepLoop finds work nothing would wake (a company reconnected with
// operations recorded before) and forgets the rate limiters of idle keys.
func (sc *scheduler) sweepLoop(ctx context.Context) {
	t := time.NewTicker(sc.s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := sc.s.ledger.Sweep(ctx); err != nil && ctx.Err() == nil {
			sc.s.logger.Warn("sweeping for forgotten work failed", slog.Any("error", err))
		} else if n > 0 {
			sc.pokeClaimer()
		}
		sc.s.limiters.Prune(2 * time.Minute)
		sc.s.clients.prune(time.Minute)
	}
}
