package credentials_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/testenv"
)

// TestStoreNeedsNoAlign: a store built from a pool and a keyring alone (no
// Align URL, no public URL) reads what a connect stored, takes an error
// verdict, and refuses what is not connected.
func TestStoreNeedsNoAlign(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t)
	kr, err := credentials.ParseKeyring("k1:" + key(1))
	if err != nil {
		t.Fatal(err)
	}
	store, err := credentials.New(env.Pool, kr)
	if err != nil {
		t.Fatal(err)
	}
	company, connID, apiKey, secret := uuid.NewString(), uuid.NewString(), "ako_storestorestorestore9876", "whsec_c3RvcmVzdG9yZQ=="
	sealedKey, _ := kr.Seal(company, []byte(apiKey))
	sealedSecret, _ := kr.Seal(company, []byte(secret))
	err = pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error {
		return credentials.SaveConnected(ctx, tx, credentials.Connected{CompanyID: company, ConnectionID: connID,
			APIKey: sealedKey, KeyLast4: "9876", OrganizationID: uuid.NewString(), WebhookID: uuid.NewString(), WebhookSecret: sealedSecret})
	})
	if err != nil {
		t.Fatal(err)
	}

	if k, err := store.APIKey(ctx, company); err != nil || k != apiKey {
		t.Fatalf("APIKey: %v", err)
	}
	if st, err := store.Status(ctx, company); err != nil || st.Status != credentials.StatusConnected || st.KeyLast4 != "9876" {
		t.Fatalf("Status: %+v, %v", st, err)
	}
	if wh, err := store.WebhookTarget(ctx, connID); err != nil || wh.CompanyID != company || wh.Secret != secret {
		t.Fatalf("WebhookTarget: %+v, %v", wh.CompanyID, err)
	}

	if err := store.MarkError(ctx, company, "Align API key validation failed: 401 key_revoked"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.APIKey(ctx, company); !errors.Is(err, credentials.ErrNotConnected) {
		t.Fatalf("APIKey in error: %v, want ErrNotConnected", err)
	}
	if st, _ := store.Status(ctx, company); st.Status != credentials.StatusError || st.LastError == "" {
		t.Fatalf("Status after MarkError: %+v", st)
	}
	if _, err := store.WebhookTarget(ctx, connID); err != nil {
		t.Fatalf("a connection in error stopped receiving: %v", err)
	}

	stranger := uuid.NewString()
	if st, err := store.Status(ctx, stranger); err != nil || st.Status != credentials.StatusDisconnected {
		t.Fatalf("Status of a company never connected: %+v, %v", st, err)
	}
	if _, err := store.APIKey(ctx, stranger); !errors.Is(err, credentials.ErrNotConnected) {
		t.Fatalf("APIKey of a company never connected: %v", err)
	}
	if _, err := store.WebhookTarget(ctx, uuid.NewString()); !errors.Is(err, credentials.ErrNotConnected) {
		t.Fatalf("WebhookTarget of an unknown connection: %v", err)
	}
}

func TestNewStoreNamesWhatIsMissing(t *testing.T) {
	_, err := credentials.New(nil, nil)
	if err == nil {
		t.Fatal("a store without pool and keyring was built")
	}
	for _, want := range []string{"pool", "keyring"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name the %s", err, want)
		}
	}
}
