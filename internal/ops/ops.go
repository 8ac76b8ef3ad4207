// Package ops serves the operational endpoints every long-running alignsync
// command exposes: /metrics (its private Prometheus registry), /healthz (the
// process is alive) and /readyz (the component can do its work now).
//
// Invariant: /readyz answers from a cheap, non-blocking check the component
// provides; it never calls out to the network itself.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadyFunc reports why the component is not ready, or nil.
type ReadyFunc func() error

// NewRegistry is a private registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler routes /metrics, /healthz and /readyz.
func Handler(reg *prometheus.Registry, ready ReadyFunc) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Server is a started HTTP server.
type Server struct {
	Addr string // the bound address, with the real port when ":0" was asked
	srv  *http.Server
	done chan error
}

// Start listens on addr and serves h until Shutdown.
func Start(addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	s := &Server{
		Addr: l.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		if err != nil && logger != nil {
			logger.Error("http server stopped", slog.String("addr", s.Addr), slog.Any("error", err))
		}
		s.done <- err
	}()
	return s, nil
}

// Shutdown stops accepting connections and waits up to 10 s for requests in
// flight.
func (s *Server) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}
