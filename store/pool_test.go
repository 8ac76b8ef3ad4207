package store_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/illumera/alignsync/store"
)

// An unreachable database is reported once, naming host and port: pgx
// attempts twice (with and without TLS) and would say so twice.
func TestUnreachableDatabaseReportedOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	url := "postgres://alignsync:secret-password@" + addr + "/illumera?connect_timeout=5"
	ctx := context.Background()
	_, openErr := store.Open(ctx, url)
	_, migrateErr := store.Migrate(ctx, url, store.MigrateOptions{})
	for name, err := range map[string]error{"Open": openErr, "Migrate": migrateErr} {
		if err == nil {
			t.Fatalf("%s: no error for an unreachable database", name)
		}
		msg := err.Error()
		want := `connecting to database at ` + addr + ` (user "alignsync", database "illumera"): connection refused`
		if msg != want {
			t.Errorf("%s: %q\nwant %q", name, msg, want)
		}
		if strings.Contains(msg, "secret-password") {
			t.Errorf("%s: the error shows the password", name)
		}
	}
}
