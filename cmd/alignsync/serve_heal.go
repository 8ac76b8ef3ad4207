package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/reconcile"
)

// healConfig is serve's self-healing: the status sweep and the connection
// health check.
type healConfig struct {
	sweepInterval, sweepMinAge time.Duration
	sweepBatch, sweepRate      int
	healthInterval             time.Duration
}

func (h *healConfig) register(f *flagSet) {
	f.Duration(&h.sweepInterval, "status-sweep-interval", "ALIGNSYNC_STATUS_SWEEP_INTERVAL", reconcile.DefaultSweepInterval,
		"how often time entries whose webhook may have been lost are read from Align and their status written back; 0: off")
	f.Duration(&h.sweepMinAge, "status-sweep-min-age", "ALIGNSYNC_STATUS_SWEEP_MIN_AGE", reconcile.DefaultSweepMinAge,
		"the sweep reads an entry once its last status change in Illumera is this old (its webhook had time to arrive)")
	f.Int(&h.sweepBatch, "status-sweep-batch", "ALIGNSYNC_STATUS_SWEEP_BATCH", reconcile.DefaultSweepBatch,
		"entries the sweep reads per company and round")
	f.Int(&h.sweepRate, "status-sweep-rate-per-minute", "ALIGNSYNC_STATUS_SWEEP_RATE_PER_MINUTE", reconcile.DefaultSweepRatePerMinute,
		"the sweep's Align requests per minute per key; the sink shares Align's 600")
	f.Duration(&h.healthInterval, "health-check-interval", "ALIGNSYNC_HEALTH_CHECK_INTERVAL", connect.DefaultHealthInterval,
		"how often each connected company's key (GET /me) and webhook are checked; a gone webhook is registered again; 0: off")
}

func (h *healConfig) validate(f *flagSet) {
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"status-sweep-interval", h.sweepInterval}, {"health-check-interval", h.healthInterval}} {
		if d.value != 0 && d.value < time.Second {
			f.Problem("--%s %s: want 0 (off) or at least 1s", d.name, d.value)
		}
	}
	if h.sweepMinAge < time.Second {
		f.Problem("--status-sweep-min-age %s: want at least 1s", h.sweepMinAge)
	}
	if h.sweepBatch < 1 {
		f.Problem("--status-sweep-batch %d: must be at least 1", h.sweepBatch)
	}
	if h.sweepRate < 1 {
		f.Problem("--status-sweep-rate-per-minute %d: must be at least 1", h.sweepRate)
	}
}

// startHealing runs the status sweep (reading keys from the credential
// store) and the connection health check (the connect workflow) until ctx
// ends or the returned stop is called.
func startHealing(ctx context.Context, h healConfig, alignBaseURL string, p *serveParts, logger *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if h.sweepInterval > 0 {
		sweeper, err := reconcile.NewSweeper(reconcile.SweepConfig{Pool: p.pool, Keys: p.creds, AlignBaseURL: alignBaseURL,
			Interval: h.sweepInterval, MinAge: h.sweepMinAge, Batch: h.sweepBatch, RatePerMinute: h.sweepRate,
			Metrics: p.recMetrics, Logger: logger})
		if err != nil {
			cancel()
			return nil, err
		}
		wg.Go(func() { sweeper.Run(ctx) })
	}
	if h.healthInterval > 0 {
		wg.Go(func() { p.conns.WatchHealth(ctx, h.healthInterval) })
		logger.Info("connection health check started", slog.Duration("interval", h.healthInterval))
	}
	return func() { cancel(); wg.Wait() }, nil
}
