package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/internal/ops"
	"github.com/illumera/alignsync/reconcile"
)

func secrets() (keyring *credentials.Keyring, jwtSecret string, err error) {
	key := make([]byte, 32)
	secret := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return nil, "", err
	}
	keyring, err = credentials.ParseKeyring("demo:" + base64.StdEncoding.EncodeToString(key))
	return keyring, base64.RawURLEncoding.EncodeToString(secret), err
}

// startServe assembles serve as the serve subcommand does (the credential
// store, the connect workflow, the webhook receiver, the admin server, one
// listener) and the reconciler.
func (w *world) startServe(ctx context.Context, keyring *credentials.Keyring, jwtSecret string) error {
	// Listen first: the webhook URL registered with Align needs the real port
	// when --ops-addr asks for any free one.
	var handler http.Handler = http.NotFoundHandler()
	httpSrv, err := ops.Start(w.opts.OpsAddr, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(rw, r)
	}), w.opts.Logger)
	if err != nil {
		return fmt.Errorf("serve: %w (choose another with --ops-addr)", err)
	}
	w.stops = append(w.stops, func() { _ = httpSrv.Shutdown() })
	w.serveURL = "http://" + httpSrv.Addr
	if w.creds, err = credentials.New(w.pool, keyring); err != nil {
		return err
	}
	conns, err := connect.NewService(connect.Config{Pool: w.pool, Keyring: keyring,
		NewClient: connect.NewClientFactory(w.align.BaseURL, nil), PublicBaseURL: w.serveURL,
		Logger: w.opts.Logger, Metrics: connect.NewMetrics(w.reg)})
	if err != nil {
		return err
	}
	receiver, err := ingest.NewReceiver(ingest.Config{Pool: w.pool, Connections: w.creds,
		Metrics: ingest.NewMetrics(w.reg), Logger: w.opts.Logger})
	if err != nil {
		return err
	}
	srv, err := admin.NewServer(admin.Config{Pool: w.pool, Connections: conns, Deliveries: receiver,
		JWTSecret: jwtSecret, Registry: w.reg, Logger: w.opts.Logger})
	if err != nil {
		return err
	}
	handler, w.jwtSecret = w.serveHandler(srv, receiver), jwtSecret
	w.token, err = admin.IssueToken(jwtSecret, "demo-platform-admin", "", []string{admin.RolePlatformAdmin}, 24*time.Hour)
	if err != nil {
		return err
	}
	w.recon, err = reconcile.New(reconcile.Config{Pool: w.pool, Keys: w.creds, AlignBaseURL: w.align.BaseURL,
		AlignRatePerMinute: 600, Metrics: reconcile.NewMetrics(w.reg), Logger: w.opts.Logger})
	return err
}

// serveHandler mounts what serve's listener serves, in serve's order; the
// demo's registry holds every component's metrics.
func (w *world) serveHandler(srv *admin.Server, receiver *ingest.Receiver) http.Handler {
	r := mux.NewRouter()
	opsHandler := ops.Handler(w.reg, srv.Ready)
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		r.Handle(p, opsHandler).Methods(http.MethodGet)
	}
	receiver.Register(r)
	srv.Register(r)
	return r
}
