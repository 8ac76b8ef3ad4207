package connect_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// key is a keyring entry's key material: 32 bytes of b, base64.
func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

type fixture struct {
	pool    *pgxpool.Pool
	ctl     *alignsim.Control
	keyring *credentials.Keyring
	svc     *connect.Service
	logs    *testenv.LogBuffer
	org     alignsim.Org
	reg     *prometheus.Registry
}

const publicBase = "https://sync.illumera.test"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.New(t)
	sim := alignsim.New(alignsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	ctl := alignsim.NewControl(srv.URL, nil)
	kr, err := credentials.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(random(32)))
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.LogBuffer{}
	reg := prometheus.NewRegistry()
	svc, err := connect.NewService(connect.Config{
		Pool: env.Pool, Keyring: kr, NewClient: connect.NewClientFactory(ctl.APIBaseURL(), nil),
		PublicBaseURL: publicBase, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: connect.NewMetrics(reg),
	})
	if err != nil {
		t.Fatal(err)
	}
	org, err := ctl.CreateOrg(context.Background(), "Acme", true)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{pool: env.Pool, ctl: ctl, keyring: kr, svc: svc, logs: logs, org: org, reg: reg}
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func (f *fixture) mint(t *testing.T, req alignsim.KeyRequest) alignsim.Key {
	t.Helper()
	if req.Scope == "" {
		req.Scope = alignsim.ScopeOrganization
	}
	k, err := f.ctl.MintKey(context.Background(), f.org.OrganizationID, req)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// row is the stored connection, raw.
type row struct {
	ConnectionID, Status      string
	KeyCipher, KeyNonce       []byte
	SecretCipher              []byte
	WebhookID, LSN, LastError *string
}

func (f *fixture) row(t *testing.T, company string) (row, bool) {
	t.Helper()
	var r row
	err := f.pool.QueryRow(context.Background(), `SELECT connection_id::text, status, api_key_ciphertext, api_key_nonce,
		webhook_secret_ciphertext, webhook_id::text, connected_lsn::text, last_error
		FROM align_sync.connections WHERE company_id = $1`, company).
		Scan(&r.ConnectionID, &r.Status, &r.KeyCipher, &r.KeyNonce, &r.SecretCipher, &r.WebhookID, &r.LSN, &r.LastError)
	if err != nil {
		return row{}, false
	}
	return r, true
}

func (f *fixture) webhooks(t *testing.T) []alignsim.Webhook {
	t.Helper()
	st, err := f.ctl.State(context.Background(), f.org.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	return st.Webhooks
}

func newCompany() string { return uuid.NewString() }

// attempts is alignsync_connect_attempts_total{outcome}.
func (f *fixture) attempts(t *testing.T, outcome string) float64 {
	t.Helper()
	return testenv.CounterValue(t, f.reg, "alignsync_connect_attempts_total", outcome)
}
