package resync

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/pipeline"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func testLogger() *slog.Logger {
	if os.Getenv("ALIGNSYNC_TEST_LOGS") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// connectCompany inserts a company connected to a fresh Align org since
// connectedAt (nil: no time recorded).
func connectCompany(t *testing.T, env *testenv.Env, k *testenv.Keys, connectedAt *time.Time) (string, alignsim.Org) {
	t.Helper()
	org, err := env.Align.Control.CreateOrg(context.Background(), "org "+uuid.NewString()[:8], true)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	env.Exec(t, `INSERT INTO companies (id, name) VALUES ($1, $2)`, id, "company "+id[:8])
	env.Exec(t, `INSERT INTO align_sync.connections (company_id, status, api_key_ciphertext, key_last4, organization_id, connected_lsn, connected_at)
		VALUES ($1, 'connected', 'x', right($2, 4), $3, '0/0', $4)`, id, org.OrgKey, org.OrganizationID, connectedAt)
	if k != nil {
		k.Set(id, org.OrgKey)
	}
	return id, org
}

// startSink runs the real sink until the test ends.
func startSink(t *testing.T, env *testenv.Env, k *testenv.Keys) {
	t.Helper()
	cfg := pipeline.Config{Brokers: env.Kafka.Brokers, AlignBaseURL: env.Align.BaseURL,
		RetryInterval: 50 * time.Millisecond, StatsInterval: 200 * time.Millisecond}
	s, err := pipeline.New(cfg, env.Pool, k, testLogger(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sink stopped with %v", err)
		}
		s.Close()
	})
}

// eventually polls cond until it returns nil, failing the test with its last
// answer at the deadline.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// outboxKinds lists the company's operations as kind:entity, in order.
func outboxKinds(t *testing.T, env *testenv.Env, companyID string) []string {
	t.Helper()
	rows, err := env.Pool.Query(context.Background(), `SELECT op || ':' || entity_id FROM align_sync.outbox
		WHERE company_id = $1 ORDER BY id`, companyID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// gaugeValue reads the series of a one-label gauge whose label value is
// label, failing the test when there is none.
func gaugeValue(t *testing.T, reg prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == name && len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s}", name, label)
	return 0
}
