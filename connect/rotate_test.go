package connect_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
)

// serviceWith is a service of f whose keyring is spec.
func serviceWith(t *testing.T, f *fixture, spec string) *connect.Service {
	t.Helper()
	kr, err := credentials.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := connect.NewService(connect.Config{Pool: f.pool, Keyring: kr,
		NewClient: connect.NewClientFactory(f.ctl.APIBaseURL(), nil), PublicBaseURL: publicBase})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// keyIDs reads the key ids of the company's stored secrets.
func keyIDs(t *testing.T, f *fixture, company string) (apiKey, secret string) {
	t.Helper()
	if err := f.pool.QueryRow(context.Background(), `SELECT coalesce(api_key_key_id, ''), coalesce(webhook_secret_key_id, '')
		FROM align_sync.connections WHERE company_id = $1`, company).Scan(&apiKey, &secret); err != nil {
		t.Fatal(err)
	}
	return apiKey, secret
}

// Two companies connected under the fixture's key k1, one disconnected: a
// dry run counts without changing anything, the rotation re-encrypts every
// stored secret with the new first key, and a keyring holding only that key
// then decrypts them all.
func TestRotateKeysReencryptsEverySecret(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	old := serviceWith(t, f, "k1:"+key(1))
	companies := []string{newCompany(), newCompany()}
	secrets := map[string]string{}
	for _, c := range companies {
		if _, err := old.Connect(ctx, c, f.org.OrgKey); err != nil {
			t.Fatal(err)
		}
		r, _ := f.row(t, c)
		wh, err := old.WebhookTarget(ctx, r.ConnectionID)
		if err != nil {
			t.Fatal(err)
		}
		secrets[c] = wh.Secret
	}
	gone := newCompany()
	if _, err := old.Connect(ctx, gone, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Disconnect(ctx, gone); err != nil {
		t.Fatal(err)
	}

	both, err := credentials.ParseKeyring("k2:" + key(7) + ",k1:" + key(1))
	if err != nil {
		t.Fatal(err)
	}
	dry, err := credentials.RotateKeys(ctx, f.pool, both, true)
	if err != nil || fmt.Sprint(dry.InUse) != "[{k1 2 2}]" || len(dry.Rotated) != 0 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if a, s := keyIDs(t, f, companies[0]); a != "k1" || s != "k1" {
		t.Fatalf("a dry run re-encrypted: %s %s", a, s)
	}

	rot, err := credentials.RotateKeys(ctx, f.pool, both, false)
	if err != nil || rot.PrimaryKeyID != "k2" || fmt.Sprint(rot.Rotated) != "[{k1 2 2}]" || len(rot.Failures) != 0 {
		t.Fatalf("rotation: %+v, %v", rot, err)
	}
	newOnly, err := credentials.ParseKeyring("k2:" + key(7))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := connect.NewService(connect.Config{Pool: f.pool, Keyring: newOnly})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range companies {
		if a, s := keyIDs(t, f, c); a != "k2" || s != "k2" {
			t.Fatalf("company %s still has %s / %s", c, a, s)
		}
		if k, err := svc.APIKey(ctx, c); err != nil || k != f.org.OrgKey {
			t.Fatalf("API key under k2 alone: %v", err)
		}
		r, _ := f.row(t, c)
		if wh, err := svc.WebhookTarget(ctx, r.ConnectionID); err != nil || wh.Secret != secrets[c] {
			t.Fatalf("webhook secret under k2 alone: %v", err)
		}
	}
	again, err := credentials.RotateKeys(ctx, f.pool, both, true)
	if err != nil || fmt.Sprint(again.InUse) != "[{k2 2 2}]" {
		t.Fatalf("after the rotation: %+v, %v", again, err)
	}
}

// A secret sealed with a key the keyring lacks is reported (no secret in the
// report) and the others still rotate.
func TestRotateKeysReportsSecretsItCannotOpen(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	old := serviceWith(t, f, "k1:"+key(1))
	ok, lost := newCompany(), newCompany()
	for _, c := range []string{ok, lost} {
		if _, err := old.Connect(ctx, c, f.org.OrgKey); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.pool.Exec(ctx, `UPDATE align_sync.connections SET api_key_key_id = 'k0' WHERE company_id = $1`, lost); err != nil {
		t.Fatal(err)
	}
	kr, err := credentials.ParseKeyring("k2:" + key(7) + ",k1:" + key(1))
	if err != nil {
		t.Fatal(err)
	}
	rot, err := credentials.RotateKeys(ctx, f.pool, kr, false)
	if !errors.Is(err, credentials.ErrRotationIncomplete) || len(rot.Failures) != 1 {
		t.Fatalf("rotation: %+v, %v; want one failure", rot, err)
	}
	fail := rot.Failures[0]
	if fail.CompanyID != lost || fail.Secret != "API key" || fail.KeyID != "k0" || fmt.Sprint(rot.Rotated) != "[{k1 1 2}]" {
		t.Fatalf("rotation %+v", rot)
	}
	if a, s := keyIDs(t, f, lost); a != "k0" || s != "k2" {
		t.Fatalf("company with the lost key: %s / %s, want k0 left alone and its secret rotated", a, s)
	}
}
