package devenv

import (
	"fmt"
	"net/http"
	"time"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/internal/ops"
)

// Align is an Align simulator serving on a loopback port.
type Align struct {
	URL     string // root, for the control API
	BaseURL string // the API root a client is configured with (URL + /api/v1)
	Sim     *alignsim.Server
	Control *alignsim.Control

	srv *ops.Server
}

// StartAlign serves a fresh simulator on a free loopback port (addr
// "127.0.0.1:0"), or on addr.
func StartAlign(addr string) (*Align, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	sim := alignsim.New(alignsim.Options{})
	srv, err := ops.Start(addr, sim, nil)
	if err != nil {
		sim.Close()
		return nil, fmt.Errorf("starting the Align simulator: %w", err)
	}
	a := &Align{URL: "http://" + srv.Addr, Sim: sim, srv: srv}
	a.BaseURL = a.URL + alignsim.APIPrefix
	a.Control = alignsim.NewControl(a.URL, &http.Client{Timeout: 30 * time.Second})
	return a, nil
}

// Close stops serving and the simulator's webhook deliveries.
func (a *Align) Close() {
	_ = a.srv.Close()
	a.Sim.Close()
}
