package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/capture"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/devenv"
	"github.com/illumera/alignsync/internal/ops"
	"github.com/illumera/alignsync/pipeline"
	"github.com/illumera/alignsync/reconcile"
	"github.com/illumera/alignsync/store"
)

// Options configure a demo run.
type Options struct {
	Duration    time.Duration // how long the workload runs; 0 = until ctx ends
	DatabaseURL string        // empty: a temporary PostgreSQL from the local binaries
	OpsAddr     string        // serve's listener: admin API, webhooks, /metrics of every component
	Companies   int           // companies connected to their own simulated Align org
	Seed        uint64        // workload randomness; 0 = from the clock
	// Prometheus also starts a local Prometheus (when installed) on
	// PrometheusAddr, scraping the demo.
	Prometheus     bool
	PrometheusAddr string
	Out            io.Writer    // progress and the report
	Logger         *slog.Logger // component logs
}

// world is everything the demo started.
type world struct {
	opts     Options
	pool     *pgxpool.Pool
	reg      *prometheus.Registry
	align    *devenv.Align
	creds    *credentials.Store // the keys, for the sink and reconcile
	serveURL string
	token    string // a platform admin's API token, for the demo's own admin API calls
	// jwtSecret signs the demo's tokens (a random secret of this run).
	jwtSecret string
	recon     *reconcile.Reconciler
	sink      *pipeline.Sink
	stops     []func()
}

// Run runs the demo until its duration passes or ctx ends, then reports.
// It returns an error when the two sides did not converge.
func Run(ctx context.Context, opts Options) error {
	if opts.Companies <= 0 {
		opts.Companies = 3
	}
	if opts.OpsAddr == "" {
		opts.OpsAddr = "127.0.0.1:8080"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	w := &world{opts: opts, reg: ops.NewRegistry()}
	defer w.stop()
	if err := w.start(ctx); err != nil {
		return err
	}
	companies, err := w.connectCompanies(ctx)
	if err != nil {
		return err
	}
	if err := w.printURLs(companies); err != nil {
		return err
	}
	if opts.Prometheus {
		if err := w.startPrometheus(ctx); err != nil {
			return err
		}
	}
	// A first reconciliation (nothing synced yet, so nothing to find) gives
	// the dashboard's "last success" a value from the start.
	if _, err := w.recon.Run(ctx, reconcile.Options{Window: reconcile.Window{All: true}}); err != nil {
		return fmt.Errorf("first reconciliation: %w", err)
	}
	runCtx := ctx
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	drive := newDriver(w, companies, opts.Seed)
	var inc *incident
	if opts.Duration == 0 || opts.Duration >= minIncidentDuration {
		inc = newIncident(w, drive, companies[0], opts.Duration)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); drive.run(runCtx) }()
	go func() { defer wg.Done(); w.progress(runCtx, drive) }()
	if inc != nil {
		wg.Add(1)
		go func() { defer wg.Done(); inc.run(runCtx) }()
	}
	wg.Wait()
	w.printProgress(drive)
	fmt.Fprintln(opts.Out, "workload stopped; waiting for the pipeline to settle...")
	// A second Ctrl-C should not be needed to get the report: settle on a
	// fresh context with its own deadline.
	settleCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return w.report(settleCtx, drive, inc)
}

func (w *world) start(ctx context.Context) error {
	url, err := w.database(ctx)
	if err != nil {
		return err
	}
	if w.pool, err = store.Open(ctx, url); err != nil {
		return err
	}
	w.stops = append(w.stops, w.pool.Close)
	kafka, err := devenv.StartKafka(4, "")
	if err != nil {
		return err
	}
	w.stops = append(w.stops, kafka.Close)
	if w.align, err = devenv.StartAlign("127.0.0.1:0"); err != nil {
		return err
	}
	w.stops = append(w.stops, w.align.Close)
	if err := w.align.Control.SetWebhookSchedule(ctx, []int{500, 1000, 2000, 5000}); err != nil {
		return fmt.Errorf("setting the simulator's webhook schedule: %w", err)
	}
	keyring, jwtSecret, err := secrets()
	if err != nil {
		return err
	}
	if err := w.startServe(ctx, keyring, jwtSecret); err != nil {
		return err
	}
	if err := w.startCapture(ctx, url, kafka.Brokers); err != nil {
		return err
	}
	return w.startSink(ctx, kafka.Brokers)
}

// database creates a fresh database on a temporary server, or migrates the
// given one (with the reference Illumera schema).
func (w *world) database(ctx context.Context) (string, error) {
	if w.opts.DatabaseURL != "" {
		_, err := store.Migrate(ctx, w.opts.DatabaseURL, store.MigrateOptions{Reference: true})
		return w.opts.DatabaseURL, err
	}
	pg, err := devenv.StartPostgres(ctx)
	if err != nil {
		return "", fmt.Errorf("starting a temporary PostgreSQL (set DATABASE_URL to use your own): %w", err)
	}
	w.stops = append(w.stops, pg.Stop)
	fmt.Fprintf(w.opts.Out, "postgres   %s (temporary, in %s)\n", pg.DatabaseURL("alignsync_demo"), pg.Dir)
	return pg.NewNamedDatabase(ctx, "alignsync_demo")
}

func (w *world) startCapture(ctx context.Context, url string, brokers []string) error {
	cfg := capture.DefaultConfig()
	cfg.DatabaseURL, cfg.Brokers = url, brokers
	cfg.Slot = "alignsync_demo"
	cfg.HeartbeatInterval, cfg.StatusInterval, cfg.SlotPollInterval = 2*time.Second, 2*time.Second, 2*time.Second
	c, err := capture.New(cfg, w.opts.Logger, w.reg)
	if err != nil {
		return err
	}
	w.background(func(ctx context.Context) error { return c.Run(ctx) })
	return w.waitSlot(ctx, cfg.Slot)
}

func (w *world) startSink(ctx context.Context, brokers []string) error {
	cfg := pipeline.Config{Brokers: brokers, AlignBaseURL: w.align.BaseURL, RetryInterval: 500 * time.Millisecond,
		StatsInterval: time.Second}
	s, err := pipeline.New(cfg, w.pool, w.creds, w.opts.Logger, w.reg)
	if err != nil {
		return err
	}
	w.sink = s
	w.background(s.Run)
	w.stops = append(w.stops, s.Close)
	return nil
}

// background runs a component until the demo stops it.
func (w *world) background(run func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			w.opts.Logger.Error("demo component stopped", slog.Any("error", err))
		}
	}()
	w.stops = append(w.stops, func() { cancel(); <-done })
}

func (w *world) waitSlot(ctx context.Context, slot string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var active bool
		err := w.pool.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active)
		if err == nil && active {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("capture's replication slot %s did not become active", slot)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops everything in reverse order of starting.
func (w *world) stop() {
	for i := len(w.stops) - 1; i >= 0; i-- {
		w.stops[i]()
	}
}
