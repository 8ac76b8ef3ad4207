package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/sinks/align"
)

// Config configures a Sink. Zero values take the defaults named.
type Config struct {
	Brokers  []string
	Topic    string // default illumera.cdc
	DLQTopic string // default illumera.cdc.dlq
	Group    string // default alignsync-sink

	AlignBaseURL       string
	AlignRatePerMinute int          // per key; default 600
	AlignMaxAttempts   int          // inline attempts per operation run; default 5
	AlignHTTPClient    *http.Client // nil: the client's own

	SkipTables     []string      // tables whose changes are consumed and skipped
	MaxActiveLanes int           // companies running at once; default 32
	LaneQueue      int           // queued changes per company; default 256
	RetryInterval  time.Duration // how often parked operations are looked at; default 1 s
	CommitInterval time.Duration // how often offsets are committed; default 200 ms
	StatsInterval  time.Duration // outbox depth and lag polling; default 5 s
}

func (c *Config) defaults() error {
	if len(c.Brokers) == 0 {
		return errors.New("pipeline: no Kafka brokers")
	}
	if c.AlignBaseURL == "" {
		return errors.New("pipeline: no Align base URL")
	}
	setDefault(&c.Topic, "illumera.cdc")
	setDefault(&c.DLQTopic, "illumera.cdc.dlq")
	setDefault(&c.Group, "alignsync-sink")
	setDefault(&c.AlignRatePerMinute, 600)
	setDefault(&c.AlignMaxAttempts, 5)
	setDefault(&c.MaxActiveLanes, 32)
	setDefault(&c.LaneQueue, 256)
	setDefault(&c.RetryInterval, time.Second)
	setDefault(&c.CommitInterval, 200*time.Millisecond)
	setDefault(&c.StatsInterval, 5*time.Second)
	return nil
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Connections gives the sink each company's Align key and takes its verdict
// when Align refuses one. The connect package implements it.
type Connections interface {
	APIKey(ctx context.Context, companyID string) (string, error)
	MarkError(ctx context.Context, companyID, msg string) error
}

// Sink consumes illumera.cdc and keeps Align in step.
type Sink struct {
	cfg      Config
	pool     *pgxpool.Pool // the sink's own, sized for its lanes
	locks    *pgxpool.Pool // one session per running lane, holding its advisory lock
	outbox   outbox
	conns    Connections
	logger   *slog.Logger
	metrics  *metrics
	limiters *align.Limiters
	tracker  *offsetTracker
	active   chan struct{}
	skip     map[string]bool

	mu      sync.Mutex
	lanes   map[string]*lane
	clients map[string]cachedClient
	ready   error
}

// New builds a sink on the database pool's configuration; Run starts it and
// Close releases its connections. The sink opens two pools of its own: a lane
// holds its company's advisory lock on one session while it works through
// others, so sharing a small pool with anything else could deadlock.
func New(cfg Config, pool *pgxpool.Pool, conns Connections, logger *slog.Logger, reg prometheus.Registerer) (*Sink, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	work, locks, err := lanePools(pool, cfg.MaxActiveLanes)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, pool: work, locks: locks, outbox: outbox{pool: work}, conns: conns, logger: logger,
		metrics: newMetrics(reg), limiters: align.NewLimiters(), tracker: newOffsetTracker(),
		active: make(chan struct{}, cfg.MaxActiveLanes), skip: map[string]bool{},
		lanes: map[string]*lane{}, clients: map[string]cachedClient{}, ready: errors.New("not started")}
	for _, t := range cfg.SkipTables {
		s.skip[strings.TrimSpace(t)] = true
	}
	return s, nil
}

func (s *Sink) skipTable(t string) bool { return s.skip[t] }

func lanePools(pool *pgxpool.Pool, lanes int) (work, locks *pgxpool.Pool, err error) {
	wc, lc := pool.Config().Copy(), pool.Config().Copy()
	wc.MaxConns, wc.MinConns = int32(lanes+8), 0
	lc.MaxConns, lc.MinConns = int32(lanes), 0
	if work, err = pgxpool.NewWithConfig(context.Background(), wc); err != nil {
		return nil, nil, fmt.Errorf("opening the sink's pool: %w", err)
	}
	if locks, err = pgxpool.NewWithConfig(context.Background(), lc); err != nil {
		work.Close()
		return nil, nil, fmt.Errorf("opening the sink's lock pool: %w", err)
	}
	return work, locks, nil
}

// Close releases the sink's database connections; call it after Run returns.
func (s *Sink) Close() {
	s.pool.Close()
	s.locks.Close()
}

// Ready reports whether the sink is consuming.
func (s *Sink) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

func (s *Sink) setReady(err error) {
	s.mu.Lock()
	s.ready = err
	s.mu.Unlock()
}

// acquire takes a lane slot and the company's advisory lock; release gives
// both back.
func (s *Sink) acquire(ctx context.Context, companyID string) (func(), error) {
	select {
	case s.active <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	conn, err := s.locks.Acquire(ctx)
	if err != nil {
		<-s.active
		return nil, fmt.Errorf("acquiring a connection for company %s: %w", companyID, err)
	}
	const lockSQL = `SELECT pg_advisory_lock(hashtextextended('alignsync.lane:' || $1, 0))`
	if _, err := conn.Exec(ctx, lockSQL, companyID); err != nil {
		conn.Release()
		<-s.active
		return nil, fmt.Errorf("locking company %s: %w", companyID, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('alignsync.lane:' || $1, 0))`, companyID); err != nil {
			conn.Conn().Close(ctx) // closing the session releases the lock
		}
		conn.Release()
		<-s.active
	}, nil
}

type cachedClient struct {
	key    string
	client *align.Client
	loaded time.Time
}

// client returns the company's Align client, rebuilt when its key changed
// (a reconnect).
// With fresh, the key is read again whatever the cache's age.
func (s *Sink) client(ctx context.Context, companyID string, fresh bool) (alignAPI, string, error) {
	s.mu.Lock()
	cc, ok := s.clients[companyID]
	s.mu.Unlock()
	if ok && !fresh && time.Since(cc.loaded) < 5*time.Second {
		return cc.client, cc.key, nil
	}
	key, err := s.conns.APIKey(ctx, companyID)
	if err != nil {
		return nil, "", fmt.Errorf("loading Align key of company %s: %w", companyID, err)
	}
	if !ok || cc.key != key {
		c, err := align.New(align.Config{BaseURL: s.cfg.AlignBaseURL, APIKey: key, HTTPClient: s.cfg.AlignHTTPClient,
			MaxAttempts: s.cfg.AlignMaxAttempts, RatePerMinute: s.cfg.AlignRatePerMinute, Limiters: s.limiters,
			Observe: s.metrics.observe, UserAgent: "alignsync-sink"})
		if err != nil {
			return nil, "", permanent("building Align client: %v", err)
		}
		cc.client, cc.key = c, key
	}
	cc.loaded = time.Now()
	s.mu.Lock()
	s.clients[companyID] = cc
	s.mu.Unlock()
	return cc.client, cc.key, nil
}

// laneFor returns the company's lane, starting it on first use.
func (s *Sink) laneFor(ctx context.Context, companyID string) *lane {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lanes[companyID]
	if !ok {
		l = newLane(s, companyID)
		s.lanes[companyID] = l
		go l.loop(ctx)
	}
	return l
}
