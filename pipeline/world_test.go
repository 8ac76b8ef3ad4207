package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/capture"
	"github.com/illumera/alignsync/connect"
)

// world is the real thing end to end: SQL writes, capture reading the WAL
// into Kafka, the sink, alignsim, and companies connected through connect.
type world struct {
	*harness
	conns    *connect.Service
	keyring  string
	sinkReg  *prometheus.Registry
	captured context.CancelFunc
}

func newWorld(t testing.TB) *world {
	h := newHarness(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	spec := "k1:" + base64.StdEncoding.EncodeToString(key)
	kr, err := connect.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc, err := connect.NewService(connect.Config{Pool: h.env.Pool, Keyring: kr,
		NewClient: connect.NewClientFactory(h.env.Align.BaseURL, nil), PublicBaseURL: "http://127.0.0.1:9", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h.conns = svc
	w := &world{harness: h, conns: svc, keyring: spec}
	w.startCapture(t)
	return w
}

func (w *world) startCapture(t testing.TB) {
	cfg := capture.DefaultConfig()
	cfg.DatabaseURL = w.env.DatabaseURL
	cfg.Brokers = w.env.Kafka.Brokers
	cfg.Slot = "alignsync_" + uuid.NewString()[:8]
	cfg.HeartbeatInterval, cfg.StatusInterval, cfg.SlotPollInterval = time.Second, time.Second, time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- capture.Run(ctx, cfg, testLogger(), prometheus.NewRegistry()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("capture stopped with %v", err)
		}
	})
	w.captured = cancel
	// Changes before the slot exists are not in the stream: wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var active bool
		err := w.env.Pool.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, cfg.Slot).Scan(&active)
		if err == nil && active {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("capture's slot %s never became active (%v)", cfg.Slot, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runSink starts the sink with the real connections service.
func (w *world) runSink(cfg Config) *Sink {
	w.sinkReg = prometheus.NewRegistry()
	return w.startSinkWithRegistry(cfg, w.sinkReg)
}

// connectCompany inserts a company and connects it to a fresh Align org
// through the real connect flow.
func (w *world) connectCompany(name string) (string, alignsim.Org) {
	ctx := w.ctx()
	org, err := w.env.Align.Control.CreateOrg(ctx, name, true)
	if err != nil {
		w.t.Fatal(err)
	}
	id := uuid.NewString()
	w.exec(`INSERT INTO companies (id, name) VALUES ($1, $2)`, id, name)
	if _, err := w.conns.Connect(ctx, id, org.OrgKey); err != nil {
		w.t.Fatalf("connecting %s: %v", name, err)
	}
	return id, org
}

// testLogger discards, unless ALIGNSYNC_TEST_LOGS is set.
func testLogger() *slog.Logger {
	if os.Getenv("ALIGNSYNC_TEST_LOGS") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}
