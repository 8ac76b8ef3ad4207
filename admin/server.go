package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/ingest"
)

// Config assembles the admin API and pages. Pool, Connections, Deliveries
// and JWTSecret are required.
type Config struct {
	Pool *pgxpool.Pool
	// Connections is the connect workflow: the API and the pages show,
	// connect and disconnect a company's connection through it.
	Connections *connect.Service
	// Deliveries processes a company's failed webhook deliveries again (Retry
	// Failed): the webhook receiver.
	Deliveries Deliveries
	// JWTSecret is ALIGNSYNC_ADMIN_JWT_SECRET (at least MinSecretBytes).
	JWTSecret string
	// SessionLifetime is how long an admin pages session lasts after
	// signing in; zero means DefaultSessionLifetime.
	SessionLifetime time.Duration
	// Registry receives the admin metrics; nil means a registry of their own.
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

// Deliveries is the part of the webhook receiver the admin API uses.
type Deliveries interface {
	RetryFailed(ctx context.Context, companyID string) (ingest.RetryResult, error)
}

var _ Deliveries = (*ingest.Receiver)(nil)

// Server is the admin API under /api/companies/{companyID}/align and the
// admin pages under /admin/, mounted on a router by Register. It holds no
// state between requests beyond readiness: sessions of the admin pages live
// in the database, so any instance serves any request.
type Server struct {
	pool       *pgxpool.Pool
	conns      *connect.Service
	deliveries Deliveries
	auth       *Auth
	sessions   sessions
	metrics    *Metrics
	pages      *pages
	log        *slog.Logger
	dbErr      atomic.Pointer[error]
}

// NewServer checks cfg and assembles the handlers. Every configuration
// problem is reported at once.
func NewServer(cfg Config) (*Server, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	var errs []error
	if cfg.Pool == nil {
		errs = append(errs, errors.New("admin: Pool is required"))
	}
	if cfg.Connections == nil {
		errs = append(errs, errors.New("admin: Connections is required"))
	}
	if cfg.Deliveries == nil {
		errs = append(errs, errors.New("admin: Deliveries is required"))
	}
	auth, err := NewAuth(cfg.JWTSecret)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	lifetime := cfg.SessionLifetime
	if lifetime <= 0 {
		lifetime = DefaultSessionLifetime
	}
	s := &Server{pool: cfg.Pool, conns: cfg.Connections, deliveries: cfg.Deliveries, auth: auth, log: logger,
		sessions: sessions{pool: cfg.Pool, lifetime: lifetime}, metrics: NewMetrics(reg)}
	pg, err := newPages(s, s.metrics)
	if err != nil {
		return nil, err
	}
	s.pages = pg
	return s, nil
}

// Register mounts the admin pages and the admin API on r, and makes r answer
// routes it does not know, or methods a route does not take, with the admin
// API's JSON error.
func (s *Server) Register(r *mux.Router) {
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such route")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
	})
	s.pages.register(r)

	api := r.PathPrefix("/api/companies/{companyID}/align").Subrouter()
	api.Use(s.auth.RequireCompany(s.metrics))
	api.HandleFunc("/connection", s.putConnection).Methods(http.MethodPut)
	api.HandleFunc("/connection", s.getConnection).Methods(http.MethodGet)
	api.HandleFunc("/connection", s.deleteConnection).Methods(http.MethodDelete)
	api.HandleFunc("/sync/outbox", s.listOutbox).Methods(http.MethodGet)
	api.HandleFunc("/sync/retry-failed", s.retryOutbox).Methods(http.MethodPost)
	api.HandleFunc("/webhook-deliveries", s.listDeliveries).Methods(http.MethodGet)
	api.HandleFunc("/webhook-deliveries/retry-failed", s.retryDeliveries).Methods(http.MethodPost)
	api.HandleFunc("/reconciliation-discrepancies", s.listDiscrepancies).Methods(http.MethodGet)
}

// Connections is the connect workflow the server uses.
func (s *Server) Connections() *connect.Service { return s.conns }

// Auth is the token check the admin API uses, for other admin pages.
func (s *Server) Auth() *Auth { return s.auth }

// Ready is /readyz: the last database check of WatchDatabase (ready until a
// check fails).
func (s *Server) Ready() error {
	if p := s.dbErr.Load(); p != nil {
		return *p
	}
	return nil
}

// WatchDatabase pings the database every interval until ctx ends, so /readyz
// reflects it without calling out itself.
func (s *Server) WatchDatabase(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.pool.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			err = fmt.Errorf("database: %w", err)
			if s.dbErr.Swap(&err) == nil {
				s.log.Warn("database unreachable: not ready", slog.Any("error", err))
			}
			continue
		}
		if s.dbErr.Swap(nil) != nil {
			s.log.Info("database reachable again: ready")
		}
	}
}
