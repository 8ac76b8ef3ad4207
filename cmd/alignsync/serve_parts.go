package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/internal/ops"
	"github.com/illumera/alignsync/reconcile"
)

// serveParts is what serve is made of: the credential store, which every
// part that only reads keys uses; the connect workflow, the one part that
// calls Align about connections; the webhook receiver; the admin server; and
// the metrics they all register on.
type serveParts struct {
	pool       *pgxpool.Pool
	reg        *prometheus.Registry
	creds      *credentials.Store
	conns      *connect.Service
	receiver   *ingest.Receiver
	admin      *admin.Server
	recMetrics *reconcile.Metrics
}

// newServeParts builds the parts from validated flags; an error here is a
// configuration the flags could not check.
func newServeParts(c serveConfig, pool *pgxpool.Pool, logger *slog.Logger) (*serveParts, error) {
	p := &serveParts{pool: pool, reg: ops.NewRegistry()}
	var err error
	if p.creds, err = credentials.New(pool, c.keyring); err != nil {
		return nil, err
	}
	p.conns, err = newWorkflow(c, pool, p.reg, logger)
	if err != nil {
		return nil, err
	}
	if p.receiver, err = newReceiver(pool, p.creds, p.reg, logger); err != nil {
		return nil, err
	}
	if p.admin, err = newAdminServer(c, pool, p.conns, p.receiver, p.reg, logger); err != nil {
		return nil, err
	}
	p.recMetrics = reconcile.NewMetrics(p.reg)
	return p, nil
}

// newWorkflow is the connect workflow: Align at --align-base-url, webhooks
// pointing at --public-base-url.
func newWorkflow(c serveConfig, pool *pgxpool.Pool, reg prometheus.Registerer, logger *slog.Logger) (*connect.Service, error) {
	return connect.NewService(connect.Config{
		Pool: pool, Keyring: c.keyring, NewClient: connect.NewClientFactory(c.alignBaseURL, nil),
		PublicBaseURL: c.publicBaseURL, Logger: logger, Metrics: connect.NewMetrics(reg),
	})
}

// newReceiver is the webhook receiver, resolving connections through the
// credential store.
func newReceiver(pool *pgxpool.Pool, creds *credentials.Store, reg prometheus.Registerer, logger *slog.Logger) (*ingest.Receiver, error) {
	return ingest.NewReceiver(ingest.Config{Pool: pool, Connections: creds, Metrics: ingest.NewMetrics(reg), Logger: logger})
}

// newAdminServer is the admin API and pages over the workflow and the
// receiver's Retry Failed.
func newAdminServer(c serveConfig, pool *pgxpool.Pool, conns *connect.Service, receiver *ingest.Receiver,
	reg prometheus.Registerer, logger *slog.Logger) (*admin.Server, error) {
	return admin.NewServer(admin.Config{
		Pool: pool, Connections: conns, Deliveries: receiver, JWTSecret: c.jwtSecret,
		SessionLifetime: c.sessionLife, Registry: reg, Logger: logger,
	})
}

// handler is serve's one listener: /metrics, /healthz and /readyz, Align's
// webhooks, the admin pages and the admin API (whose JSON error answers
// every unknown route).
func (p *serveParts) handler() http.Handler {
	r := mux.NewRouter()
	opsHandler := ops.Handler(p.reg, p.admin.Ready)
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		r.Handle(path, opsHandler).Methods(http.MethodGet)
	}
	p.receiver.Register(r)
	p.admin.Register(r)
	return r
}

// startBackground starts what serve does besides answering requests: the
// reconciliation runs gauge, the nightly reconciliation (--reconcile-at),
// self-healing (the status sweep and the connection health check) and the
// database readiness check. stop ends them all and waits for those that
// write.
func (p *serveParts) startBackground(ctx context.Context, c serveConfig, logger *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		cancel()
	}
	go p.recMetrics.WatchRuns(ctx, p.pool, 30*time.Second)
	if c.reconcileAt != "" {
		stopNightly, err := startNightly(ctx, c, p.pool, p.creds, p.recMetrics, logger)
		if err != nil {
			stop()
			return nil, err
		}
		stops = append(stops, stopNightly)
	}
	stopHealing, err := startHealing(ctx, c.heal, c.alignBaseURL, p, logger)
	if err != nil {
		stop()
		return nil, err
	}
	stops = append(stops, stopHealing)
	go p.admin.WatchDatabase(ctx, 5*time.Second)
	return stop, nil
}

// startNightly runs the reconciliation every day at --reconcile-at; across
// instances an advisory lock lets one run each night.
func startNightly(ctx context.Context, c serveConfig, pool *pgxpool.Pool, keys reconcile.Keys, metrics *reconcile.Metrics, logger *slog.Logger) (func(), error) {
	window, _ := reconcile.ParseWindow(c.reconcileWin)
	rec, err := reconcile.New(reconcile.Config{Pool: pool, Keys: keys, AlignBaseURL: c.alignBaseURL,
		Metrics: metrics, Logger: logger})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := rec.Nightly(ctx, c.reconcileAt, reconcile.Options{Window: window, Repair: c.reconcileRepair}); err != nil && ctx.Err() == nil {
			logger.Error("nightly reconciliation stopped", slog.Any("error", err))
		}
	}()
	return func() { cancel(); <-done }, nil
}
