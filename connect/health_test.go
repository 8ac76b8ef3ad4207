package connect_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/connect"
)

// healthService is f's service with metrics on reg.
func healthService(t *testing.T, f *fixture) (*connect.Service, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	svc, err := connect.NewService(connect.Config{Pool: f.pool, Keyring: f.keyring,
		NewClient: connect.NewClientFactory(f.ctl.APIBaseURL(), nil), PublicBaseURL: publicBase,
		Metrics: connect.NewMetrics(reg), Logger: slog.New(slog.NewJSONHandler(f.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return svc, reg
}

// checkOnce runs one round and returns the outcome of company's check ("" if
// it was not checked).
func checkOnce(t *testing.T, svc *connect.Service, company string) string {
	t.Helper()
	res, err := svc.CheckHealth(context.Background(), connect.DefaultHealthInterval)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.CompanyID == company {
			return r.Outcome
		}
	}
	return ""
}

// storeKey replaces the company's stored API key, as a key rotation at Align
// would leave it.
func storeKey(t *testing.T, f *fixture, company, key string) {
	t.Helper()
	s, err := f.keyring.Seal(company, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(context.Background(), `UPDATE align_sync.connections
		SET api_key_ciphertext = $2, api_key_nonce = $3, api_key_key_id = $4 WHERE company_id = $1`,
		company, s.Ciphertext, s.Nonce, s.KeyID); err != nil {
		t.Fatal(err)
	}
}

func TestHealthCheckOfAHealthyConnectionChangesNothing(t *testing.T) {
	f := newFixture(t)
	svc, reg := healthService(t, f)
	company := newCompany()
	if _, err := svc.Connect(context.Background(), company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	before, _ := f.row(t, company)
	if got := checkOnce(t, svc, company); got != connect.HealthHealthy {
		t.Fatalf("outcome %q, want healthy", got)
	}
	after, _ := f.row(t, company)
	if after.Status != "connected" || after.ConnectionID != before.ConnectionID || *after.WebhookID != *before.WebhookID {
		t.Fatalf("a healthy check changed the connection: %+v → %+v", before, after)
	}
	// Checked within the interval: the next round (this or another instance's) leaves it.
	if got := checkOnce(t, svc, company); got != "" {
		t.Fatalf("checked again at once: %q", got)
	}
	if n := seriesValue(t, reg, "alignsync_connect_health_checks_total", "healthy"); n != 1 {
		t.Fatalf("healthy checks counted %v, want 1", n)
	}
}

// A key revoked at Align turns the connection to error with the guide's
// message, and the connections gauge counts it.
func TestHealthCheckFindsARevokedKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	svc, reg := healthService(t, f)
	key := f.mint(t, alignsim.KeyRequest{})
	company := newCompany()
	if _, err := svc.Connect(ctx, company, key.Key); err != nil {
		t.Fatal(err)
	}
	if err := f.ctl.RevokeKey(ctx, key.APIKeyID); err != nil {
		t.Fatal(err)
	}
	if got := checkOnce(t, svc, company); got != connect.HealthKeyInvalid {
		t.Fatalf("outcome %q, want %s", got, connect.HealthKeyInvalid)
	}
	st, err := svc.Status(ctx, company)
	if err != nil || st.Status != "error" || !strings.HasPrefix(st.LastError, "Align API key validation failed: 401") {
		t.Fatalf("status %+v (%v), want error with the guide's message", st, err)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "align connection in error") || strings.Contains(logs, key.Key[4:16]) {
		t.Fatalf("logs lack the state change or show the key:\n%s", logs)
	}
	ctxW, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { svc.WatchHealth(ctxW, time.Hour); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for seriesValue(t, reg, "alignsync_connections", "error") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the connections gauge never counted the connection in error")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// A webhook deleted at Align is registered again, under a new connection id.
func TestHealthCheckRegistersADeletedWebhookAgain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	svc, _ := healthService(t, f)
	company := newCompany()
	if _, err := svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	before, _ := f.row(t, company)
	deleteWebhooks(t, f)

	if got := checkOnce(t, svc, company); got != connect.HealthReregistered {
		t.Fatalf("outcome %q, want %s", got, connect.HealthReregistered)
	}
	after, _ := f.row(t, company)
	hooks := f.webhooks(t)
	if after.Status != "connected" || after.ConnectionID == before.ConnectionID || len(hooks) != 1 ||
		hooks[0].ID != *after.WebhookID || hooks[0].DestinationURL != publicBase+"/webhooks/align/"+after.ConnectionID {
		t.Fatalf("after re-registration: row %+v, webhooks at Align %+v", after, hooks)
	}
	wh, err := svc.WebhookTarget(ctx, after.ConnectionID)
	if err != nil || wh.CompanyID != company || !strings.HasPrefix(wh.Secret, "whsec_") {
		t.Fatalf("WebhookTarget of the new connection id: %+v %v", wh, err)
	}
	if _, err := svc.WebhookTarget(ctx, before.ConnectionID); err == nil {
		t.Fatal("the old connection id still resolves")
	}
}

// When the webhook cannot be registered again, the connection goes to error
// with "Webhook registration failed"; Align not answering changes nothing.
func TestHealthCheckWhenTheWebhookCannotBeRegistered(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	svc, _ := healthService(t, f)
	company, flaky := newCompany(), newCompany()
	for _, c := range []string{company, flaky} {
		if _, err := svc.Connect(ctx, c, f.org.OrgKey); err != nil {
			t.Fatal(err)
		}
	}
	// The key the company holds now may read webhooks but not create them.
	readOnly := f.mint(t, alignsim.KeyRequest{Permissions: []string{alignsim.PermReadWebhook}})
	storeKey(t, f, company, readOnly.Key)
	deleteWebhooks(t, f)
	if _, err := f.pool.Exec(ctx, `UPDATE align_sync.connections SET health_checked_at = now() WHERE company_id = $1`, flaky); err != nil {
		t.Fatal(err)
	}

	if got := checkOnce(t, svc, company); got != connect.HealthWebhookFail {
		t.Fatalf("outcome %q, want %s", got, connect.HealthWebhookFail)
	}
	if st, _ := svc.Status(ctx, company); st.Status != "error" || st.LastError != "Webhook registration failed" {
		t.Fatalf("status %+v", st)
	}

	if _, err := f.ctl.SetFaults(ctx, alignsim.Faults{ErrorRate: alignsim.Ptr(1.0), Status: alignsim.Ptr(503)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `UPDATE align_sync.connections SET health_checked_at = NULL WHERE company_id = $1`, flaky); err != nil {
		t.Fatal(err)
	}
	if got := checkOnce(t, svc, flaky); got != connect.HealthUnavailable {
		t.Fatalf("outcome with Align failing: %q, want %s", got, connect.HealthUnavailable)
	}
	if st, _ := svc.Status(ctx, flaky); st.Status != "connected" {
		t.Fatalf("Align not answering changed the connection: %+v", st)
	}
}

// deleteWebhooks deletes every webhook of the fixture's organization at Align.
func deleteWebhooks(t *testing.T, f *fixture) {
	t.Helper()
	c, err := newAlignClient(f, f.org.OrgKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, wh := range f.webhooks(t) {
		if err := c.DeleteWebhook(context.Background(), wh.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// seriesValue reads the one-label series name{label} of a counter or gauge.
func seriesValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == name && len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s}", name, label)
	return 0
}
