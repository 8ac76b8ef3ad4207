package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/store"
)

func init() {
	register(command{name: "rotate-keys", summary: "re-encrypt stored Align keys and webhook secrets with the first encryption key", run: runRotateKeys})
}

func runRotateKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var databaseURL, encryptionKeys string
	var dryRun bool
	f := newFlagSet("rotate-keys", "Re-encrypts every stored Align API key and webhook secret that another key sealed with the\n"+
		"first key of --encryption-keys, and reports the counts per former key id. To retire a key: put a\n"+
		"new key first in ALIGNSYNC_ENCRYPTION_KEYS of every serve and sink (keeping the old one after it),\n"+
		"run rotate-keys, check with --dry-run that only the new key id is in use, then remove the old key.\n"+
		"Secrets are never printed. Exit 1 when some secret could not be re-encrypted (its key is missing).")
	f.String(&databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL of Illumera's database (align_sync schema migrated)")
	f.String(&encryptionKeys, "encryption-keys", "ALIGNSYNC_ENCRYPTION_KEYS", "", "keyring id:base64(32 bytes)[,id:base64...]; the first key seals, all open")
	f.Bool(&dryRun, "dry-run", "ALIGNSYNC_ROTATE_KEYS_DRY_RUN", false, "only list the key ids in use and how many secrets each sealed; change nothing")
	var keyring *credentials.Keyring
	code := parseFlags(f, args, stdout, stderr, func() {
		f.Require(databaseURL, "database-url")
		f.Require(encryptionKeys, "encryption-keys")
		keyring = parseKeyring(f, encryptionKeys)
	})
	if code >= 0 {
		return code
	}
	pool, err := store.Open(ctx, databaseURL)
	if err != nil {
		fmt.Fprintf(stderr, "alignsync rotate-keys: %v\n", err)
		return 1
	}
	defer pool.Close()
	rot, err := credentials.RotateKeys(ctx, pool, keyring, dryRun)
	writeRotation(stdout, rot)
	if err != nil {
		if !errors.Is(err, credentials.ErrRotationIncomplete) {
			fmt.Fprintf(stderr, "alignsync rotate-keys: %v\n", err)
		}
		return 1
	}
	return 0
}

// writeRotation prints what the rotation found and did: counts and ids only.
func writeRotation(w io.Writer, r credentials.Rotation) {
	fmt.Fprintf(w, "key ids in use (first key of the keyring: %s):\n", r.PrimaryKeyID)
	if len(r.InUse) == 0 {
		fmt.Fprintln(w, "  none: no stored API key or webhook secret")
	}
	pending := 0
	for _, u := range r.InUse {
		fmt.Fprintf(w, "  %s: %s\n", u.KeyID, counts(u))
		if u.KeyID != r.PrimaryKeyID {
			pending += u.APIKeys + u.WebhookSecrets
		}
	}
	if r.DryRun {
		fmt.Fprintf(w, "dry run: nothing changed; %d %s would be re-encrypted with %s\n",
			pending, plural(pending, "secret", "secrets"), r.PrimaryKeyID)
		return
	}
	if len(r.Rotated) == 0 {
		fmt.Fprintf(w, "nothing to re-encrypt: every secret is sealed with %s\n", r.PrimaryKeyID)
	} else {
		fmt.Fprintf(w, "re-encrypted with %s:\n", r.PrimaryKeyID)
		for _, u := range r.Rotated {
			fmt.Fprintf(w, "  from %s: %s\n", u.KeyID, counts(u))
		}
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "not re-encrypted: company %s, %s sealed with %s: %s\n", f.CompanyID, f.Secret, f.KeyID, f.Error)
	}
	if len(r.Failures) == 0 {
		fmt.Fprintf(w, "every stored secret is now sealed with %s; the other keys may be removed once every process uses this keyring\n", r.PrimaryKeyID)
	}
}

func counts(u credentials.KeyUse) string {
	return fmt.Sprintf("%d %s, %d %s", u.APIKeys, plural(u.APIKeys, "API key", "API keys"),
		u.WebhookSecrets, plural(u.WebhookSecrets, "webhook secret", "webhook secrets"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
