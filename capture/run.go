package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Capture streams the publication's changes into Kafka while it holds the
// capture lock, and waits as a standby while another process holds it.
type Capture struct {
	cfg     Config
	logger  *slog.Logger
	metrics *Metrics

	mu       sync.Mutex
	state    state
	stateErr error

	// The record of the last confirmed position (position.go), touched only
	// by the goroutine that leads.
	positions     positionStore
	recorded      position
	recordFailing bool
}

type state int

const (
	stateStarting state = iota
	stateStandby
	stateConnecting
	stateStreaming
	stateStopped
)

// New validates cfg (zero fields take DefaultConfig's values) and registers
// the metrics on reg (nil: a private registry).
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Capture, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validating capture configuration: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	cfg = cfg.withDefaults()
	positions, err := newPositionStore(cfg)
	if err != nil {
		return nil, err
	}
	return &Capture{cfg: cfg, logger: logger, metrics: NewMetrics(reg), positions: positions}, nil
}

// Run is New followed by Capture.Run.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, reg prometheus.Registerer) error {
	c, err := New(cfg, logger, reg)
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// Run blocks until ctx ends: it waits for the capture lock, sets up the
// publication and slot, and streams, reconnecting with backoff. It returns
// nil after a clean stop and an error only for problems retrying cannot fix:
// a missing table, a missing privilege, or a *SlotLostError when the slot no
// longer holds every change capture has not read.
func (c *Capture) Run(ctx context.Context) (err error) {
	c.logger.Info("capture starting", slog.Any("config", c.cfg))
	defer func() { c.setState(stateStopped, err) }()
	defer c.positions.close()
	for ctx.Err() == nil {
		lock, err := c.acquireLock(ctx)
		if err != nil {
			break
		}
		err = c.lead(ctx, lock)
		lock.release()
		c.metrics.Active.Set(0)
		if err != nil {
			return err
		}
		if ctx.Err() == nil {
			c.logger.Warn("capture lock lost, back to standby")
		}
	}
	c.logger.Info("capture stopped")
	return nil
}

// lead does the active capture's work until ctx ends or the lock is lost.
func (c *Capture) lead(ctx context.Context, lock *leaderLock) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.metrics.Active.Set(1)
	pool, err := c.openPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := c.setupWithRetry(ctx, pool); err != nil {
		return c.refused(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { lock.watch(ctx, cancel, c.logger) })
	wg.Go(func() { c.heartbeat(ctx, pool) })
	wg.Go(func() { c.pollSlot(ctx, pool) })
	return c.refused(c.streamWithRetry(ctx, pool))
}

// refused shows a lost slot in the slot_lost metric before capture stops.
func (c *Capture) refused(err error) error {
	var lost *SlotLostError
	if errors.As(err, &lost) {
		c.metrics.SlotLost.WithLabelValues(lost.Reason).Set(1)
	}
	return err
}

func (c *Capture) openPool(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(c.cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	cfg.MaxConns = 3
	cfg.ConnConfig.RuntimeParams["application_name"] = "alignsync-capture"
	return pgxpool.NewWithConfig(ctx, cfg)
}

// setupWithRetry creates the publication and slot, retrying while the
// database or Kafka is unreachable; a refusal (privilege, missing table, lost
// slot) is returned.
func (c *Capture) setupWithRetry(ctx context.Context, pool *pgxpool.Pool) error {
	b := newBackoff(c.cfg.ReconnectMin, c.cfg.ReconnectMax)
	for {
		err := c.setup(ctx, pool)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if isPermanent(err) {
			return err
		}
		c.logger.Warn("setting up replication failed, retrying", slog.Any("error", err))
		if !b.wait(ctx) {
			return nil
		}
	}
}

// streamWithRetry runs sessions until ctx ends, reconnecting with backoff
// from the slot's position after each failure. It returns the
// *SlotLostError that makes going on pointless, nil otherwise.
func (c *Capture) streamWithRetry(ctx context.Context, pool *pgxpool.Pool) error {
	b := newBackoff(c.cfg.ReconnectMin, c.cfg.ReconnectMax)
	for ctx.Err() == nil {
		c.setState(stateConnecting, nil)
		started := time.Now()
		err := c.stream(ctx, pool)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		var lost *SlotLostError
		if errors.As(err, &lost) {
			return err
		}
		c.metrics.Reconnects.Inc()
		c.setState(stateConnecting, err)
		c.logger.Warn("replication session ended, reconnecting", slog.Any("error", err), slog.Duration("ran", time.Since(started)))
		if time.Since(started) > time.Minute {
			b.reset()
		}
		if !b.wait(ctx) {
			return nil
		}
	}
	return nil
}

// acked is called for every transaction Kafka acknowledged, in commit order.
func (c *Capture) acked(t *txn) {
	if t.heartbeat {
		return
	}
	c.metrics.Transactions.Inc()
	c.metrics.LastCommit.Set(float64(t.commitTime.UnixMicro()) / 1e6)
	c.metrics.AckLatency.Observe(max(0, time.Since(t.commitTime).Seconds()))
}

func (c *Capture) setState(s state, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s != c.state {
		c.logger.Info("capture state", slog.String("state", s.String()))
	}
	c.state, c.stateErr = s, err
}

// Ready reports why the capture is not streaming right now, or nil.
func (c *Capture) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateStreaming {
		return nil
	}
	if c.stateErr != nil {
		return fmt.Errorf("%s: %w", c.state, c.stateErr)
	}
	return errors.New(c.state.String())
}

func (s state) String() string {
	return [...]string{"starting", "standby", "connecting", "streaming", "stopped"}[s]
}
