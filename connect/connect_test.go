package connect_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
)

func TestConnect(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()

	st, err := f.svc.Connect(ctx, company, f.org.OrgKey)
	if err != nil {
		t.Fatal(err)
	}
	k := f.org.OrgKey
	if st.Status != "connected" || st.KeyLast4 != k[len(k)-4:] || st.OrganizationID != f.org.OrganizationID || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}
	r, _ := f.row(t, company)
	if r.LSN == nil || r.WebhookID == nil || len(r.KeyNonce) != 12 || bytes.Contains(r.KeyCipher, []byte(k)) {
		t.Fatalf("stored row %+v", r)
	}
	hooks := f.webhooks(t)
	if len(hooks) != 1 || hooks[0].ID != *r.WebhookID ||
		hooks[0].DestinationURL != publicBase+"/webhooks/align/"+r.ConnectionID ||
		strings.Join(hooks[0].EventNames, ",") != "time.submitted,time.approved,time.rejected,time.locked,time.invoiced" {
		t.Fatalf("webhooks at Align %+v", hooks)
	}
	if got, err := f.svc.APIKey(ctx, company); err != nil || got != k {
		t.Fatalf("APIKey: %v", err)
	}
	wh, err := f.svc.WebhookTarget(ctx, r.ConnectionID)
	if err != nil || wh.CompanyID != company || wh.OrganizationID != f.org.OrganizationID || !strings.HasPrefix(wh.Secret, "whsec_") {
		t.Fatalf("WebhookTarget: %+v %v", wh, err)
	}
}

// The first three rows of the admin guide's troubleshooting table.
func TestConnectRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	project, err := f.ctl.MintKey(ctx, f.org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeProject, ProjectID: mustProject(t, f)})
	if err != nil {
		t.Fatal(err)
	}
	revoked := f.mint(t, alignsim.KeyRequest{})
	if err := f.ctl.RevokeKey(ctx, revoked.APIKeyID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, key, code, message string
	}{
		{"project-scoped key", project.Key, connect.CodeProjectScoped, "This API key is project-scoped"},
		{"unknown key", "ako_" + strings.Repeat("x", 32), connect.CodeKeyInvalid, "Align API key validation failed: 401"},
		{"revoked key", revoked.Key, connect.CodeKeyInvalid, "Align API key validation failed: 401 key_revoked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			company := newCompany()
			_, err := f.svc.Connect(ctx, company, tc.key)
			var fail *connect.Failure
			if !errors.As(err, &fail) || fail.Code != tc.code || fail.Message != tc.message {
				t.Fatalf("got %v, want %s %q", err, tc.code, tc.message)
			}
			if _, stored := f.row(t, company); stored {
				t.Fatal("a refused key was stored")
			}
			if st, _ := f.svc.Status(ctx, company); st.Status != "disconnected" {
				t.Fatalf("status %+v", st)
			}
		})
	}
	if fail := projectScopedFix(t, f, project.Key); !strings.Contains(fail, "Organization scope") {
		t.Fatalf("fix %q does not tell the admin to mint an Organization key", fail)
	}

	// A refused reconnect leaves a working connection alone.
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Connect(ctx, company, project.Key); err == nil {
		t.Fatal("project key accepted")
	}
	if st, _ := f.svc.Status(ctx, company); st.Status != "connected" {
		t.Fatalf("status after a refused reconnect: %+v", st)
	}
	if len(f.webhooks(t)) != 1 {
		t.Fatalf("webhooks %+v", f.webhooks(t))
	}
}

func projectScopedFix(t *testing.T, f *fixture, key string) string {
	t.Helper()
	_, err := f.svc.Connect(context.Background(), newCompany(), key)
	var fail *connect.Failure
	errors.As(err, &fail)
	return fail.Fix
}

func mustProject(t *testing.T, f *fixture) string {
	t.Helper()
	c, err := newAlignClient(f, f.org.OrgKey)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := c.CreateProject(context.Background(), uuid.NewString(), projectRequest("Scoped"))
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func TestWebhookRegistrationRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	// An organization key that may not manage webhooks.
	k := f.mint(t, alignsim.KeyRequest{Permissions: []string{alignsim.PermReadProject}})
	_, err := f.svc.Connect(ctx, company, k.Key)
	var fail *connect.Failure
	if !errors.As(err, &fail) || fail.Code != connect.CodeWebhookFailed || fail.Message != "Webhook registration failed" {
		t.Fatalf("got %v", err)
	}
	st, _ := f.svc.Status(ctx, company)
	if st.Status != "error" || st.LastError != "Webhook registration failed" || st.KeyLast4 != k.Key[len(k.Key)-4:] {
		t.Fatalf("status %+v", st)
	}
	if _, err := f.svc.APIKey(ctx, company); !errors.Is(err, credentials.ErrNotConnected) {
		t.Fatalf("APIKey of a connection in error: %v", err)
	}
	// Reconnecting with a key that may: connected, error cleared.
	if st, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil || st.Status != "connected" || st.LastError != "" {
		t.Fatalf("reconnect: %+v %v", st, err)
	}
}

// Issue 13 point 4: a new key of the same organization replaces the key of
// a connected company without a disconnect: the sync position stays (changes
// written meanwhile still sync), and so do the webhook, its secret and the
// connection id, so deliveries Align is still retrying keep arriving.
func TestReplaceKeyKeepsWebhookAndPosition(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	before, _ := f.row(t, company)
	target, _ := f.svc.WebhookTarget(ctx, before.ConnectionID)
	addLink(t, f, company)

	k2 := f.mint(t, alignsim.KeyRequest{})
	st, err := f.svc.Connect(ctx, company, k2.Key)
	if err != nil || st.Status != "connected" || st.KeyLast4 != k2.Key[len(k2.Key)-4:] {
		t.Fatalf("replacing the key: %+v %v", st, err)
	}
	after, _ := f.row(t, company)
	if *after.LSN != *before.LSN {
		t.Fatalf("connected_lsn moved %s → %s on a key replacement", *before.LSN, *after.LSN)
	}
	if after.ConnectionID != before.ConnectionID || *after.WebhookID != *before.WebhookID {
		t.Fatalf("webhook re-registered (%s → %s) though Align still lists it", *before.WebhookID, *after.WebhookID)
	}
	if hooks := f.webhooks(t); len(hooks) != 1 || hooks[0].ID != *after.WebhookID {
		t.Fatalf("webhooks at Align after the replacement: %+v", hooks)
	}
	if key, _ := f.svc.APIKey(ctx, company); key != k2.Key {
		t.Fatal("APIKey is not the new key")
	}
	if wh, err := f.svc.WebhookTarget(ctx, before.ConnectionID); err != nil || wh.Secret != target.Secret {
		t.Fatalf("the webhook's deliveries are no longer accepted: %v", err)
	}
	if n := countLinks(t, f, company); n != 1 {
		t.Fatalf("%d links, want 1", n)
	}
}

// A webhook Align no longer lists (deleted there), or one pointing at another
// public URL than this deployment's, is re-registered under a new connection
// id; the sync position still stays.
func TestReplaceKeyReregistersWebhook(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	first, _ := f.row(t, company)
	c, err := newAlignClient(f, f.org.OrgKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteWebhook(ctx, *first.WebhookID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Connect(ctx, company, f.mint(t, alignsim.KeyRequest{}).Key); err != nil {
		t.Fatal(err)
	}
	second, _ := f.row(t, company)
	if second.ConnectionID == first.ConnectionID || *second.LSN != *first.LSN {
		t.Fatalf("connection %s → %s, position %s → %s: want a new connection id, the same position",
			first.ConnectionID, second.ConnectionID, *first.LSN, *second.LSN)
	}
	if hooks := f.webhooks(t); len(hooks) != 1 || hooks[0].ID != *second.WebhookID {
		t.Fatalf("webhooks at Align: %+v", hooks)
	}
	if _, err := f.svc.WebhookTarget(ctx, first.ConnectionID); !errors.Is(err, credentials.ErrNotConnected) {
		t.Fatalf("old connection id still accepted: %v", err)
	}

	moved, err := connect.NewService(connect.Config{Pool: f.pool, Keyring: f.keyring,
		NewClient: connect.NewClientFactory(f.ctl.APIBaseURL(), nil), PublicBaseURL: "https://moved.illumera.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := moved.Connect(ctx, company, f.mint(t, alignsim.KeyRequest{}).Key); err != nil {
		t.Fatal(err)
	}
	third, _ := f.row(t, company)
	hooks := f.webhooks(t)
	if len(hooks) != 1 || hooks[0].ID != *third.WebhookID || hooks[0].DestinationURL != "https://moved.illumera.test/webhooks/align/"+third.ConnectionID {
		t.Fatalf("webhooks at Align after the public URL moved: %+v", hooks)
	}
}

// A replacement key that Align refuses, or whose webhook cannot be
// registered, leaves the working connection as it was.
func TestReplaceKeyRefusedKeepsWorkingConnection(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	before, _ := f.row(t, company)
	noHooks := f.mint(t, alignsim.KeyRequest{Permissions: []string{alignsim.PermReadProject}})
	_, err := f.svc.Connect(ctx, company, noHooks.Key)
	var fail *connect.Failure
	if !errors.As(err, &fail) || fail.Code != connect.CodeWebhookFailed {
		t.Fatalf("got %v, want %s", err, connect.CodeWebhookFailed)
	}
	st, _ := f.svc.Status(ctx, company)
	if st.Status != "connected" || st.LastError != "" || st.KeyLast4 != f.org.OrgKey[len(f.org.OrgKey)-4:] {
		t.Fatalf("status after a refused replacement: %+v", st)
	}
	after, _ := f.row(t, company)
	if key, _ := f.svc.APIKey(ctx, company); key != f.org.OrgKey || after.ConnectionID != before.ConnectionID {
		t.Fatal("a refused replacement changed the stored key or webhook")
	}
}

func TestDisconnectKeepsLinksAndReconnectResumes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	first, _ := f.row(t, company)
	alignID := addLink(t, f, company)

	st, err := f.svc.Disconnect(ctx, company)
	if err != nil || st.Status != "disconnected" || st.KeyLast4 != "" {
		t.Fatalf("disconnect: %+v %v", st, err)
	}
	r, _ := f.row(t, company)
	if r.KeyCipher != nil || r.SecretCipher != nil || r.WebhookID != nil {
		t.Fatalf("secrets kept after disconnect: %+v", r)
	}
	if hooks := f.webhooks(t); len(hooks) != 0 {
		t.Fatalf("webhook not deleted at Align: %+v", hooks)
	}
	if _, err := f.svc.APIKey(ctx, company); !errors.Is(err, credentials.ErrNotConnected) {
		t.Fatalf("APIKey after disconnect: %v", err)
	}
	if _, err := f.svc.WebhookTarget(ctx, first.ConnectionID); !errors.Is(err, credentials.ErrNotConnected) {
		t.Fatalf("WebhookTarget after disconnect: %v", err)
	}
	if st, err := f.svc.Disconnect(ctx, company); err != nil || st.Status != "disconnected" {
		t.Fatalf("second disconnect: %+v %v", st, err)
	}

	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	var renewed bool
	if err := f.pool.QueryRow(ctx, `SELECT connected_lsn > $2::pg_lsn FROM align_sync.connections WHERE company_id = $1`,
		company, *first.LSN).Scan(&renewed); err != nil || !renewed {
		t.Fatalf("connected_lsn not renewed (%v): changes made while disconnected would be synced", err)
	}
	var got string
	if err := f.pool.QueryRow(ctx, `SELECT align_id FROM align_sync.entity_links WHERE company_id = $1`, company).Scan(&got); err != nil || got != alignID {
		t.Fatalf("link after reconnect: %q %v", got, err)
	}
}

func TestConcurrentConnectsLeaveOneWebhook(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Connect(ctx, company, f.org.OrgKey)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, _ := f.row(t, company)
	if hooks := f.webhooks(t); len(hooks) != 1 || hooks[0].ID != *r.WebhookID {
		t.Fatalf("webhooks %+v, stored %v", hooks, *r.WebhookID)
	}
}

func TestSealedKeyBoundToCompany(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	first, _ := f.row(t, company)
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	second, _ := f.row(t, company)
	if bytes.Equal(first.KeyCipher, second.KeyCipher) || bytes.Equal(first.KeyNonce, second.KeyNonce) {
		t.Fatal("the same key stored twice gave the same ciphertext")
	}
	sealed := credentials.Sealed{KeyID: "k1", Nonce: second.KeyNonce, Ciphertext: second.KeyCipher}
	if got, err := f.keyring.Open(company, sealed); err != nil || string(got) != f.org.OrgKey {
		t.Fatalf("own company: %v", err)
	}
	if _, err := f.keyring.Open(newCompany(), sealed); !errors.Is(err, credentials.ErrDecrypt) {
		t.Fatalf("another company decrypted the key: %v", err)
	}
	// Copying the ciphertext to another company's row does not give it the key.
	other := newCompany()
	if _, err := f.pool.Exec(ctx, `INSERT INTO align_sync.connections (company_id, status, api_key_ciphertext, api_key_nonce, api_key_key_id)
		VALUES ($1, 'connected', $2, $3, 'k1')`, other, second.KeyCipher, second.KeyNonce); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.APIKey(ctx, other); !errors.Is(err, credentials.ErrDecrypt) {
		t.Fatalf("copied ciphertext decrypted for another company: %v", err)
	}
}

func TestMarkError(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.MarkError(ctx, company, "Align API key validation failed: 401 key_revoked"); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svc.Status(ctx, company); st.Status != "error" || st.LastError != "Align API key validation failed: 401 key_revoked" {
		t.Fatalf("status %+v", st)
	}
	if _, err := f.svc.APIKey(ctx, company); !errors.Is(err, credentials.ErrNotConnected) {
		t.Fatalf("APIKey in error: %v", err)
	}
	if _, err := f.svc.Disconnect(ctx, company); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.MarkError(ctx, company, "late"); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svc.Status(ctx, company); st.Status != "disconnected" {
		t.Fatalf("MarkError revived a disconnected connection: %+v", st)
	}
}

// Keys and webhook secrets never reach a log line or an error, through a
// connect, a reconnect, every kind of failed connect and a disconnect.
func TestSecretsNeverLogged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	var secrets []string
	var messages []string
	record := func(err error) {
		if err != nil {
			messages = append(messages, err.Error())
		}
	}
	secretOf := func() {
		r, _ := f.row(t, company)
		if wh, err := f.svc.WebhookTarget(ctx, r.ConnectionID); err == nil {
			secrets = append(secrets, wh.Secret, strings.TrimPrefix(wh.Secret, "whsec_"))
		}
	}

	_, err := f.svc.Connect(ctx, company, f.org.OrgKey)
	record(err)
	secretOf()
	k2 := f.mint(t, alignsim.KeyRequest{})
	_, err = f.svc.Connect(ctx, company, k2.Key)
	record(err)
	secretOf()
	project, _ := f.ctl.MintKey(ctx, f.org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeProject, ProjectID: mustProject(t, f)})
	noHooks := f.mint(t, alignsim.KeyRequest{Permissions: []string{alignsim.PermReadProject}})
	revoked := f.mint(t, alignsim.KeyRequest{})
	_ = f.ctl.RevokeKey(ctx, revoked.APIKeyID)
	unknown := "ako_" + strings.Repeat("q", 40)
	bad := "ako_has space in it 1234567890"
	for _, k := range []string{project.Key, revoked.Key, unknown, bad, noHooks.Key} {
		_, err := f.svc.Connect(ctx, company, k)
		if err == nil {
			t.Fatalf("key …%s accepted", k[len(k)-4:])
		}
		record(err)
	}
	_, err = f.svc.Disconnect(ctx, company)
	record(err)

	keys := []string{f.org.OrgKey, k2.Key, project.Key, noHooks.Key, revoked.Key, unknown, bad}
	logs := f.logs.String()
	if !strings.Contains(logs, "align connected") || !strings.Contains(logs, "align connect refused") {
		t.Fatalf("expected connect logs, got:\n%s", logs)
	}
	for _, s := range append(keys, secrets...) {
		// No run of eight characters of a secret appears, except within its
		// last four (eight would catch Align's "ako_" + 8 visible prefix).
		for i := 0; i+8 <= len(s)-4+3; i++ {
			w := s[i : i+8]
			if strings.Contains(logs, w) {
				t.Errorf("part of a secret (…%s) appears in the logs: %q", s[len(s)-4:], w)
			}
			for _, m := range messages {
				if strings.Contains(m, w) {
					t.Errorf("part of a secret (…%s) appears in an error: %s", s[len(s)-4:], m)
				}
			}
		}
	}
	if len(secrets) != 4 {
		t.Fatalf("collected %d webhook secrets, want 4", len(secrets))
	}
}

// The sink builds a Service with only the pool and the keyring.
func TestKeyOnlyService(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	sink, err := connect.NewService(connect.Config{Pool: f.pool, Keyring: f.keyring})
	if err != nil {
		t.Fatal(err)
	}
	if key, err := sink.APIKey(ctx, company); err != nil || key != f.org.OrgKey {
		t.Fatalf("APIKey: %v", err)
	}
	if _, err := sink.Connect(ctx, newCompany(), f.org.OrgKey); err == nil {
		t.Fatal("Connect without an Align client succeeded")
	}
	if _, err := connect.NewService(connect.Config{Pool: f.pool}); err == nil {
		t.Fatal("a Service without a keyring was built")
	}
}
