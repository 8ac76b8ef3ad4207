package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/pipeline/ledger"
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
	AlignMaxAttempts   int          // attempts of a transient failure before the operation is parked; default 5
	AlignHTTPClient    *http.Client // nil: one shared by every company, 30 s per request

	SkipTables []string // tables whose changes are consumed and skipped

	// Slots is how many companies' operations this instance runs at once
	// (default 128): with Align answering in ~100 ms, each busy slot makes
	// at most ~10 calls a second.
	Slots int
	// MaxLeased bounds the companies this instance holds leases on at once,
	// running or waiting a moment for their rate budget (default 4 × Slots).
	MaxLeased int
	// TurnOps is how many operations a company runs before the next company
	// in line gets the slot (default 10).
	TurnOps int
	// LeaseTTL is how long a company's lease lasts without renewal (default
	// 10 s): a killed instance's companies move to the others after it.
	LeaseTTL time.Duration
	// SessionMax is how long an instance keeps a busy company before handing
	// it back to the shared round robin (default 5 s).
	SessionMax time.Duration
	// HoldWait is the longest wait (rate budget, a retry coming due) for which
	// a company keeps its lease; a longer one releases it (default 1 s).
	HoldWait time.Duration
	// IdleHold is how long a company that ran out of work keeps its lease
	// waiting for more (default 1 s): a company with steady traffic is not
	// claimed and released for every change.
	IdleHold time.Duration
	// ClaimInterval is how often the ledger is polled for companies with
	// ready work that this instance did not record itself (default 250 ms).
	ClaimInterval time.Duration
	// SweepInterval is how often forgotten work (after a reconnect) is looked
	// for (default 30 s).
	SweepInterval time.Duration
	// IntakeBatch bounds the messages recorded in one transaction (default 500).
	IntakeBatch int
	// RetryInterval is the first delay of a transient failure's retries
	// (default 1 s, doubling).
	RetryInterval time.Duration
	// CommitInterval is how often recorded offsets are committed (default 200 ms).
	CommitInterval time.Duration
	// StatsInterval is how often queue depth and consumer lag are polled (default 5 s).
	StatsInterval time.Duration
	// Instance names this sink in leases (default host name, process id and a random suffix).
	Instance string
}

func (c *Config) defaults() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("pipeline: no Kafka brokers"))
	}
	if c.AlignBaseURL == "" {
		errs = append(errs, errors.New("pipeline: no Align base URL"))
	}
	setDefault(&c.Topic, "illumera.cdc")
	setDefault(&c.DLQTopic, "illumera.cdc.dlq")
	setDefault(&c.Group, "alignsync-sink")
	setDefault(&c.AlignRatePerMinute, align.DefaultRatePerMinute)
	setDefault(&c.AlignMaxAttempts, 5)
	setDefault(&c.Slots, 128)
	setDefault(&c.MaxLeased, 4*c.Slots)
	setDefault(&c.TurnOps, 10)
	setDefault(&c.LeaseTTL, 10*time.Second)
	setDefault(&c.SessionMax, 5*time.Second)
	setDefault(&c.HoldWait, time.Second)
	setDefault(&c.IdleHold, time.Second)
	setDefault(&c.ClaimInterval, 250*time.Millisecond)
	setDefault(&c.SweepInterval, 30*time.Second)
	setDefault(&c.IntakeBatch, 500)
	setDefault(&c.RetryInterval, time.Second)
	setDefault(&c.CommitInterval, 200*time.Millisecond)
	setDefault(&c.StatsInterval, 5*time.Second)
	setDefault(&c.Instance, instanceName())
	if c.MaxLeased < c.Slots {
		errs = append(errs, fmt.Errorf("pipeline: MaxLeased %d is below Slots %d", c.MaxLeased, c.Slots))
	}
	if c.LeaseTTL < 3*time.Second {
		errs = append(errs, fmt.Errorf("pipeline: LeaseTTL %s is below 3s: renewals could not keep up", c.LeaseTTL))
	}
	return errors.Join(errs...)
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func instanceName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Connections gives the sink each company's Align key and takes its verdict
// when Align refuses one. The connect package implements it.
type Connections interface {
	APIKey(ctx context.Context, companyID string) (string, error)
	MarkError(ctx context.Context, companyID, msg string) error
}

// Sink consumes illumera.cdc into the ledger and runs each company's
// operations against Align.
type Sink struct {
	cfg      Config
	pool     *pgxpool.Pool
	ledger   *ledger.Ledger
	conns    Connections
	logger   *slog.Logger
	metrics  *metrics
	limiters *align.Limiters
	http     *http.Client
	skip     map[string]bool
	sched    *scheduler
	clients  *clientCache

	mu    sync.Mutex
	ready error
}

// New builds a sink on the database pool's configuration; Run starts it and
// Close releases its connections. The sink opens a pool of its own, sized
// for its intake and executors.
func New(cfg Config, pool *pgxpool.Pool, conns Connections, logger *slog.Logger, reg prometheus.Registerer) (*Sink, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	pc := pool.Config().Copy()
	pc.MaxConns, pc.MinConns = int32(min(cfg.Slots, 24)+4), 0
	// A company's open operations are found through a partial index that
	// keeps pointing at the versions an operation left behind until vacuum
	// runs. A plain index scan marks those entries dead as it meets them, so
	// the next scan skips them; a bitmap scan does not, and re-reads every one
	// of them each time (measured: the queue's window read went from 0.44 to
	// 0.10 ms at 1,000 operations/s). The sink's queries are all lookups by
	// key, which lose nothing without bitmap scans.
	pc.ConnConfig.RuntimeParams["enable_bitmapscan"] = "off"
	own, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("opening the sink's pool: %w", err)
	}
	s := &Sink{cfg: cfg, pool: own, ledger: ledger.NewOrigin(own, cfg.Instance), conns: conns, logger: logger,
		metrics: newMetrics(reg), limiters: align.NewLimiters(), http: cfg.AlignHTTPClient,
		skip: map[string]bool{}, clients: newClientCache(), ready: errors.New("not started")}
	if s.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = cfg.Slots*2, cfg.Slots
		s.http = &http.Client{Timeout: align.DefaultTimeout, Transport: t}
	}
	for _, t := range cfg.SkipTables {
		s.skip[strings.TrimSpace(t)] = true
	}
	s.sched = newScheduler(s)
	s.metrics.slots.Set(float64(cfg.Slots))
	return s, nil
}

// Close releases the sink's database connections; call it after Run returns.
func (s *Sink) Close() { s.pool.Close() }

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

// Run consumes and executes until ctx ends, then hands its companies back to
// the other instances and returns.
func (s *Sink) Run(ctx context.Context) error {
	in, err := s.newIntake()
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){s.sched.run, s.statsLoop, in.commitLoop} {
		wg.Add(1)
		go func() { defer wg.Done(); f(runCtx) }()
	}
	s.setReady(nil)
	err = in.run(runCtx)
	s.setReady(errors.New("stopping"))
	cancel()
	wg.Wait()
	return errors.Join(err, in.close())
}

// client builds the company's Align client on the shared HTTP client and rate
// limiters. It makes one attempt per call: retries are the ledger's, so a
// company waiting for one never holds an executor slot. Within an operation
// that makes several calls it waits for the next token (up to two token
// intervals): giving up there would throw away the calls already made, and an
// operation whose calls outnumber the bucket would never finish.
func (s *Sink) client(key string) (*align.Client, error) {
	interval := time.Minute / time.Duration(max(1, s.cfg.AlignRatePerMinute))
	c, err := align.New(align.Config{BaseURL: s.cfg.AlignBaseURL, APIKey: key, HTTPClient: s.http,
		MaxAttempts: 1, RatePerMinute: s.cfg.AlignRatePerMinute, Limiters: s.limiters,
		MaxRateWait: max(250*time.Millisecond, 2*interval), Observe: s.metrics.observe, UserAgent: "alignsync-sink"})
	if err != nil {
		return nil, permanent("building Align client: %v", err)
	}
	return c, nil
}
