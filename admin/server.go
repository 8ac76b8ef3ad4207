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
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/internal/ops"
)

// Config assembles the serve router.
type Config struct {
	Pool    *pgxpool.Pool
	Keyring *credentials.Keyring
	// AlignBaseURL is Align's API root with the version
	// (https://app.alignsoft.us/api/v1); AlignHTTPClient may be nil.
	AlignBaseURL    string
	AlignHTTPClient *http.Client
	// NewAlignClient, when set, replaces the client built from AlignBaseURL.
	NewAlignClient connect.ClientFactory
	// PublicBaseURL is where Align reaches this server (webhook destinations).
	PublicBaseURL string
	// JWTSecret is ALIGNSYNC_ADMIN_JWT_SECRET (at least MinSecretBytes).
	JWTSecret string
	// SessionLifetime is how long an admin pages session lasts after
	// signing in; zero means DefaultSessionLifetime.
	SessionLifetime time.Duration
	// Registry receives every metric and is served on /metrics; nil means a
	// new ops.NewRegistry().
	Registry *prometheus.Registry
	Logger   *slog.Logger
}

// Server is the serve router: the admin API under
// /api/companies/{companyID}/align, the admin pages under /admin/, the webhook
// receiver under /webhooks/align/{connectionID}, and /metrics, /healthz,
// /readyz. It holds no state between requests beyond readiness: sessions of
// the admin pages live in the database, so any instance serves any request.
type Server struct {
	pool     *pgxpool.Pool
	conns    *connect.Service
	receiver *ingest.Receiver
	auth     *Auth
	sessions sessions
	log      *slog.Logger
	router   *mux.Router
	dbErr    atomic.Pointer[error]
}

// NewServer checks cfg and assembles the router. Every configuration problem
// is reported at once.
func NewServer(cfg Config) (*Server, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = ops.NewRegistry()
	}
	newClient := cfg.NewAlignClient
	if newClient == nil {
		newClient = connect.NewClientFactory(cfg.AlignBaseURL, cfg.AlignHTTPClient)
	}
	var errs []error
	auth, err := NewAuth(cfg.JWTSecret)
	errs = append(errs, err)
	conns, err := connect.NewService(connect.Config{
		Pool: cfg.Pool, Keyring: cfg.Keyring, NewClient: newClient, PublicBaseURL: cfg.PublicBaseURL,
		Logger: logger, Metrics: connect.NewMetrics(reg),
	})
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	receiver, err := ingest.NewReceiver(ingest.Config{
		Pool: cfg.Pool, Connections: conns, Metrics: ingest.NewMetrics(reg), Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	lifetime := cfg.SessionLifetime
	if lifetime <= 0 {
		lifetime = DefaultSessionLifetime
	}
	s := &Server{pool: cfg.Pool, conns: conns, receiver: receiver, auth: auth, log: logger,
		sessions: sessions{pool: cfg.Pool, lifetime: lifetime}}
	m := NewMetrics(reg)
	pg, err := newPages(s, m)
	if err != nil {
		return nil, err
	}
	s.router = s.routes(reg, m, pg)
	return s, nil
}

func (s *Server) routes(reg *prometheus.Registry, m *Metrics, pg *pages) *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such route")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
	})

	opsHandler := ops.Handler(reg, s.Ready)
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		r.Handle(p, opsHandler).Methods(http.MethodGet)
	}
	s.receiver.Register(r)
	pg.register(r)

	api := r.PathPrefix("/api/companies/{companyID}/align").Subrouter()
	api.Use(s.auth.RequireCompany(m))
	api.HandleFunc("/connection", s.putConnection).Methods(http.MethodPut)
	api.HandleFunc("/connection", s.getConnection).Methods(http.MethodGet)
	api.HandleFunc("/connection", s.deleteConnection).Methods(http.MethodDelete)
	api.HandleFunc("/sync/outbox", s.listOutbox).Methods(http.MethodGet)
	api.HandleFunc("/sync/retry-failed", s.retryOutbox).Methods(http.MethodPost)
	api.HandleFunc("/webhook-deliveries", s.listDeliveries).Methods(http.MethodGet)
	api.HandleFunc("/webhook-deliveries/retry-failed", s.retryDeliveries).Methods(http.MethodPost)
	api.HandleFunc("/reconciliation-discrepancies", s.listDiscrepancies).Methods(http.MethodGet)
	return r
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Connections is the connection service the server uses (for the sink and the
// demo in the same process).
func (s *Server) Connections() *connect.Service { return s.conns }

// Receiver is the webhook receiver the server uses.
func (s *Server) Receiver() *ingest.Receiver { return s.receiver }

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
