package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/ops"
	"github.com/illumera/alignsync/reconcile"
	"github.com/illumera/alignsync/store"
)

func init() {
	register(command{name: "serve", summary: "serve the webhook receiver, the admin API and metrics", run: runServe})
}

// serveConfig is serve's configuration; secrets are never logged.
type serveConfig struct {
	databaseURL     string
	addr            string
	publicBaseURL   string
	encryptionKeys  string
	jwtSecret       string
	alignBaseURL    string
	reconcileAt     string
	reconcileWin    string
	reconcileRepair bool
	sessionLife     time.Duration
	heal            healConfig
	keyring         *credentials.Keyring // parsed from encryptionKeys by validate
}

func (c *serveConfig) register(f *flagSet) {
	f.String(&c.databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL (Illumera's database, with the align_sync schema migrated); add pool_max_conns=16 for webhook bursts (BENCHMARKS.md)")
	f.String(&c.addr, "addr", "ALIGNSYNC_ADDR", "127.0.0.1:8080", "listen address")
	f.String(&c.publicBaseURL, "public-base-url", "ALIGNSYNC_PUBLIC_BASE_URL", "", "URL at which Align reaches this server, e.g. https://sync.illumera.example (webhook destinations)")
	f.String(&c.encryptionKeys, "encryption-keys", "ALIGNSYNC_ENCRYPTION_KEYS", "", "AES-256 keys id:base64(32 bytes), comma-separated; the first encrypts, all decrypt")
	f.String(&c.jwtSecret, "admin-jwt-secret", "ALIGNSYNC_ADMIN_JWT_SECRET", "", fmt.Sprintf("HS256 secret of the admin API's tokens (at least %d bytes)", admin.MinSecretBytes))
	f.String(&c.alignBaseURL, "align-base-url", "ALIGN_BASE_URL", "https://app.alignsoft.us/api/v1", "Align API base URL")
	f.Duration(&c.sessionLife, "admin-session-lifetime", "ALIGNSYNC_ADMIN_SESSION_LIFETIME", admin.DefaultSessionLifetime,
		"how long an admin pages session lasts after signing in (sign-out ends it sooner)")
	f.String(&c.reconcileAt, "reconcile-at", "ALIGNSYNC_RECONCILE_AT", "", "run the reconciliation every day at HH:MM UTC (e.g. 02:00); one instance runs it; empty: off")
	f.String(&c.reconcileWin, "reconcile-window", "ALIGNSYNC_RECONCILE_WINDOW", "7d", "work dates the nightly reconciliation compares: Nd, all, or FROM..TO")
	f.Bool(&c.reconcileRepair, "reconcile-repair", "ALIGNSYNC_RECONCILE_REPAIR", false, "the nightly reconciliation also repairs, as reconcile --repair does")
	c.heal.register(f)
}

func (c *serveConfig) validate(f *flagSet) {
	c.heal.validate(f)
	if c.reconcileAt != "" {
		if _, err := reconcile.ParseSchedule(c.reconcileAt); err != nil {
			f.Problem("--reconcile-at %q: %v", c.reconcileAt, err)
		}
	} else if c.reconcileRepair {
		f.Problem("--reconcile-repair: there is no nightly reconciliation to repair with; set --reconcile-at too")
	}
	if _, err := reconcile.ParseWindow(c.reconcileWin); err != nil {
		f.Problem("--reconcile-window %q: %v", c.reconcileWin, err)
	}
	f.Require(c.databaseURL, "database-url")
	f.Require(c.publicBaseURL, "public-base-url")
	f.Require(c.encryptionKeys, "encryption-keys")
	f.Require(c.jwtSecret, "admin-jwt-secret")
	c.keyring = parseKeyring(f, c.encryptionKeys)
	if c.publicBaseURL != "" {
		if err := connect.ValidateBaseURL(c.publicBaseURL); err != nil {
			f.Problem("--public-base-url: %v", err)
		}
	}
	if err := connect.ValidateBaseURL(c.alignBaseURL); err != nil {
		f.Problem("--align-base-url: %v", err)
	}
	if c.sessionLife < time.Minute || c.sessionLife > 7*24*time.Hour {
		f.Problem("--admin-session-lifetime %s: must be between 1m and 168h", c.sessionLife)
	}
	if c.jwtSecret != "" && len(c.jwtSecret) < admin.MinSecretBytes {
		f.Problem("--admin-jwt-secret: %d bytes, want at least %d", len(c.jwtSecret), admin.MinSecretBytes)
	}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c serveConfig
	f := newFlagSet("serve", "Serves Align's webhooks (POST /webhooks/align/{connectionID}), the admin API\n"+
		"(/api/companies/{companyID}/align/..., JWT-authenticated) and /metrics, /healthz, /readyz on one\n"+
		"listener. Stateless: run as many instances as needed behind a load balancer.")
	c.register(f)
	if code := parseFlags(f, args, stdout, stderr, func() { c.validate(f) }); code >= 0 {
		return code
	}
	logger := f.Logger(stderr)
	logger.Info("starting serve", slog.String("addr", c.addr), slog.String("public_base_url", c.publicBaseURL),
		slog.String("align_base_url", c.alignBaseURL), slog.String("encryption_key_id", c.keyring.PrimaryKeyID()),
	)
	return serve(ctx, c, logger, stderr)
}

// serve runs until ctx ends: the parts (serve_parts.go), their background
// work, and the one listener.
func serve(ctx context.Context, c serveConfig, logger *slog.Logger, stderr io.Writer) int {
	pool, err := store.Open(ctx, c.databaseURL)
	if err != nil {
		logger.Error("serve: opening database failed", slog.Any("error", err))
		return 1
	}
	defer pool.Close()
	p, err := newServeParts(c, pool, logger)
	if err != nil {
		fmt.Fprintf(stderr, "alignsync serve: %v\n", err)
		return 2
	}
	stopBackground, err := p.startBackground(ctx, c, logger)
	if err != nil {
		fmt.Fprintf(stderr, "alignsync serve: %v\n", err)
		return 1
	}
	defer stopBackground()

	httpSrv, err := ops.Start(c.addr, p.handler(), logger)
	if err != nil {
		logger.Error("serve: listening failed", slog.Any("error", err))
		return 1
	}
	logger.Info("serving", slog.String("addr", httpSrv.Addr))
	<-ctx.Done()
	logger.Info("stopping serve")
	if err := httpSrv.Shutdown(); err != nil {
		logger.Error("serve: shutdown failed", slog.Any("error", err))
		return 1
	}
	return 0
}
