package alignsim

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// APIPrefix is where the simulator serves the Align API; point the client's
// base URL at the server's root URL followed by APIPrefix.
const APIPrefix = "/api/v1"

// controlPrefix is where the control API of align-contract.md §9 lives.
const controlPrefix = "/_sim"

// maxBodyBytes bounds request bodies; larger ones answer 400.
const maxBodyBytes = 1 << 20

// Options configures a Server. The zero value is ready to use.
type Options struct {
	// Logger receives state changes (organizations, keys, faults, failed
	// deliveries). Nil discards them.
	Logger *slog.Logger
	// WebhookClient sends webhook deliveries. Nil means a client with a
	// 10 s timeout; each attempt is also bounded by 10 s regardless.
	WebhookClient *http.Client
	// Rand drives fault injection. It is used only under the server's lock,
	// so it must not be shared with other code. Nil means seeded from the
	// clock; pass a seeded one for reproducible faults.
	Rand *rand.Rand
}

// Server is the simulator: an http.Handler serving the Align API under
// APIPrefix and the control API under /_sim. It is safe for concurrent use.
type Server struct {
	log   *slog.Logger
	hc    *http.Client
	clock func() time.Time // replaced in tests to move time forward
	api   []endpoint
	ctl   []endpoint

	mu          sync.Mutex
	rng         *rand.Rand
	st          *store
	faults      faultSettings
	retryDelays []int // milliseconds
	limits      *limiter
	idem        *idemCache
	// deliveryCtx is the parent of every pending delivery; reset and Close
	// cancel it so that pending deliveries are dropped.
	deliveryCtx    context.Context
	stopDeliveries context.CancelFunc
	closed         bool
	wg             sync.WaitGroup
}

// New returns a simulator with no organizations, default faults (none) and
// the default webhook retry schedule.
func New(opts Options) *Server {
	s := &Server{
		log:   opts.Logger,
		hc:    opts.WebhookClient,
		clock: time.Now,
		rng:   opts.Rand,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: deliveryTimeout}
	}
	if s.rng == nil {
		now := uint64(time.Now().UnixNano())
		s.rng = rand.New(rand.NewPCG(now, now>>17|1))
	}
	s.api = compileRoutes(apiEndpoints())
	s.ctl = compileRoutes(controlEndpoints())
	s.resetLocked()
	return s
}

// ServeHTTP serves the Align API under APIPrefix and the control API under
// /_sim; every other path answers 404 not_found.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, APIPrefix+"/"):
		s.serveAPI(w, r, strings.TrimPrefix(path, APIPrefix))
	case strings.HasPrefix(path, controlPrefix+"/"):
		s.serveControl(w, r, strings.TrimPrefix(path, controlPrefix))
	default:
		errorResponse(errNotFound("no such path %s", path)).write(w)
	}
}

// Close stops webhook delivery: pending deliveries are dropped and Close
// returns once every delivery goroutine has ended. The server still answers
// requests afterwards but schedules no more deliveries.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.stopDeliveries()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// resetLocked empties everything and restores the default faults and
// retry schedule (POST /_sim/reset). Pending deliveries are dropped.
func (s *Server) resetLocked() {
	if s.stopDeliveries != nil {
		s.stopDeliveries()
	}
	s.deliveryCtx, s.stopDeliveries = context.WithCancel(context.Background())
	if s.closed {
		s.stopDeliveries()
	}
	s.st = newStore()
	s.faults = defaultFaults()
	s.retryDelays = append([]int(nil), defaultRetryDelaysMs...)
	s.limits = newLimiter()
	s.idem = newIdemCache()
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
}
