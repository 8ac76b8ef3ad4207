package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func keySpec(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// rotateKeys runs the command and returns its exit status and output.
func rotateKeys(args ...string) (int, string) {
	var out bytes.Buffer
	code := run(context.Background(), append([]string{"rotate-keys"}, args...), &out, &out)
	return code, out.String()
}

// rotate-keys reports counts per key id and never a secret; --dry-run
// changes nothing; a keyring that cannot open a stored secret exits 1.
func TestRotateKeysCommand(t *testing.T) {
	env := testenv.New(t)
	old, err := credentials.ParseKeyring(keySpec("k1", 1))
	if err != nil {
		t.Fatal(err)
	}
	company, apiKey, secret := uuid.NewString(), "ako_"+strings.Repeat("s3cr3t", 6), "whsec_"+base64.StdEncoding.EncodeToString([]byte("webhook-signing-key-0123456789"))
	k, _ := old.Seal(company, []byte(apiKey))
	s, _ := old.Seal(company, []byte(secret))
	env.Exec(t, `INSERT INTO align_sync.connections (company_id, status, api_key_ciphertext, api_key_nonce, api_key_key_id,
		key_last4, organization_id, webhook_id, webhook_secret_ciphertext, webhook_secret_nonce, webhook_secret_key_id)
		VALUES ($1, 'connected', $2, $3, $4, 'cr3t', gen_random_uuid(), gen_random_uuid(), $5, $6, $7)`,
		company, k.Ciphertext, k.Nonce, k.KeyID, s.Ciphertext, s.Nonce, s.KeyID)
	keys := keySpec("k2", 2) + "," + keySpec("k1", 1)
	secrets := []string{apiKey[4:16], secret[6:18], keySpec("k1", 1)[3:15], keySpec("k2", 2)[3:15]}
	noSecret := func(out string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(out, sec) {
				t.Fatalf("output shows secret material %q:\n%s", sec, out)
			}
		}
	}

	code, out := rotateKeys("--database-url", env.DatabaseURL, "--encryption-keys", keys, "--dry-run")
	if code != 0 || !strings.Contains(out, "k1: 1 API key, 1 webhook secret") || !strings.Contains(out, "dry run: nothing changed; 2 secrets would be re-encrypted with k2") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	noSecret(out)

	code, out = rotateKeys("--database-url", env.DatabaseURL, "--encryption-keys", keys)
	if code != 0 || !strings.Contains(out, "from k1: 1 API key, 1 webhook secret") {
		t.Fatalf("rotation: exit %d\n%s", code, out)
	}
	noSecret(out)
	code, out = rotateKeys("--database-url", env.DatabaseURL, "--encryption-keys", keys, "--dry-run")
	if code != 0 || !strings.Contains(out, "k2: 1 API key, 1 webhook secret") || strings.Contains(out, "k1:") {
		t.Fatalf("dry run after the rotation: exit %d\n%s", code, out)
	}

	code, out = rotateKeys("--database-url", env.DatabaseURL, "--encryption-keys", keySpec("k3", 3))
	if code != 1 || !strings.Contains(out, "not re-encrypted: company "+company+", API key sealed with k2") {
		t.Fatalf("a keyring without k2: exit %d\n%s", code, out)
	}
	noSecret(out)

	if code, out := rotateKeys("--encryption-keys", "k1"); code != 2 || !strings.Contains(out, "--database-url (or $DATABASE_URL) is required") ||
		!strings.Contains(out, "--encryption-keys: encryption key entry 1: want id:base64key") {
		t.Fatalf("bad configuration: exit %d\n%s", code, out)
	}
}
