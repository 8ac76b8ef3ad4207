package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/internal/testenv"
)

func TestRecoveryFlagsAreChecked(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("KAFKA_BROKERS", "")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"resync", "--company", "acme", "--since", "yesterday"}, []string{
			"--database-url (or $DATABASE_URL) is required", `--company "acme": not a UUID`,
			`--since "yesterday": not an RFC 3339 time (2026-11-25T09:30:00Z) or a date (2026-11-25)`}},
		{[]string{"resync", "--database-url", "postgres://x/y"}, []string{"--since (or $ALIGNSYNC_RESYNC_SINCE) is required"}},
		{[]string{"resync", "--database-url", "postgres://x/y", "--since", time.Now().Add(time.Hour).Format(time.RFC3339)}, []string{"in the future"}},
		{[]string{"capture", "--database-url", "postgres://x/y", "--check", "--recreate-slot", "--exit-delay", "-1s"}, []string{
			"--check and --recreate-slot: choose one", "--exit-delay -1s: must not be negative"}},
		{[]string{"capture", "--database-url", "postgres://x/y", "--recreate-slot"}, []string{"--kafka-brokers (or $KAFKA_BROKERS) is required"}},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &out); code != 2 {
			t.Errorf("alignsync %v: exit %d, want 2; output:\n%s", tc.args, code, out.String())
		}
		for _, want := range tc.want {
			if !strings.Contains(out.String(), want) {
				t.Errorf("alignsync %v: output lacks %q:\n%s", tc.args, want, out.String())
			}
		}
	}
}

// TestResyncCommandEnqueues: the command wires the resync to the database
// and prints what it enqueued; asked again, it enqueues nothing.
func TestResyncCommandEnqueues(t *testing.T) {
	env := testenv.New(t)
	company := uuid.NewString()
	env.Exec(t, `INSERT INTO companies (id, name) VALUES ($1, 'Acme')`, company)
	env.Exec(t, `INSERT INTO align_sync.connections (company_id, status, api_key_ciphertext) VALUES ($1, 'connected', 'x')`, company)
	env.Exec(t, `INSERT INTO projects (company_id, title, status) VALUES ($1, 'Apollo', 'open')`, company)
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for i, want := range []string{"1 rows changed since " + since + ", 1 operations enqueued", "1 rows changed since " + since + ", 0 operations enqueued"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"resync", "--database-url", env.DatabaseURL, "--since", since, "--company", company}, &out, &errOut)
		if code != 0 || !strings.Contains(out.String(), want) {
			t.Fatalf("run %d: exit %d, want 0 and %q; output:\n%s%s", i+1, code, want, out.String(), errOut.String())
		}
	}
	var ops int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.outbox WHERE company_id = $1`, company).Scan(&ops); err != nil || ops != 1 {
		t.Fatalf("the outbox holds %d operations (%v), want the project's one", ops, err)
	}
}
