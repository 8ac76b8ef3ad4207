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

// timeouts bound how long one client may hold a connection, so that slow
// or stalled clients cannot pile up connections and goroutines.
type timeouts struct {
	readHeader, read, write, idle time.Duration
}

// listenerTimeouts are those of every listener alignsync starts. A request
// and its body must arrive within read (webhook bodies are at most 1 MiB,
// forms 64 KiB). write bounds the whole answer, handler included, so it
// leaves room for the slowest handler: a connect validates a key and
// registers a webhook at Align (each call up to three tries of 10 s) and
// deletes the webhook it replaces.
var listenerTimeouts = timeouts{readHeader: 10 * time.Second, read: 30 * time.Second,
	write: 2 * time.Minute, idle: 2 * time.Minute}

// Start listens on addr and serves h until Shutdown or Close, with the
// read, write and idle timeouts of every alignsync listener.
func Start(addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	return start(addr, h, logger, listenerTimeouts)
}

func start(addr string, h http.Handler, logger *slog.Logger, t timeouts) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	s := &Server{
		Addr: l.Addr().String(),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: t.readHeader, ReadTimeout: t.read,
			WriteTimeout: t.write, IdleTimeout: t.idle},
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

// Close stops the server at once, dropping requests in flight.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}
