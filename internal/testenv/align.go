package testenv

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/illumera/alignsync/alignsim"
)

// Align is an Align simulator serving on a loopback port.
type Align struct {
	URL     string // root, for the control API
	BaseURL string // the API root a client is configured with (URL + /api/v1)
	Sim     *alignsim.Server
	Control *alignsim.Control

	srv *http.Server
}

// StartAlign serves a fresh simulator on a free loopback port (addr
// "127.0.0.1:0"), or on addr.
func StartAlign(addr string) (*Align, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for the Align simulator on %s: %w", addr, err)
	}
	sim := alignsim.New(alignsim.Options{})
	a := &Align{URL: "http://" + l.Addr().String(), Sim: sim,
		srv: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}}
	a.BaseURL = a.URL + alignsim.APIPrefix
	a.Control = alignsim.NewControl(a.URL, &http.Client{Timeout: 30 * time.Second})
	go func() { _ = a.srv.Serve(l) }()
	return a, nil
}

// Close stops serving and the simulator's webhook deliveries.
func (a *Align) Close() {
	_ = a.srv.Close()
	a.Sim.Close()
}
