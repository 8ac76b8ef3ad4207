package testenv

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/store"
)

// Env is what one test gets: its own migrated database on the package's
// shared PostgreSQL server, its own embedded Kafka broker and Align
// simulator.
type Env struct {
	PG          *Postgres
	DatabaseURL string
	Pool        *pgxpool.Pool
	Kafka       *Kafka
	Align       *Align
}

var (
	sharedOnce sync.Once
	sharedPG   *Postgres
	sharedErr  error
)

// Main is for TestMain: it runs the package's tests and stops the shared
// PostgreSQL server afterwards, whatever the outcome.
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if sharedPG != nil {
		sharedPG.Stop()
	}
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// SharedPostgres starts the package's PostgreSQL server on first use.
func SharedPostgres() (*Postgres, error) {
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		sharedPG, sharedErr = StartPostgres(ctx)
	})
	return sharedPG, sharedErr
}

// Option changes what New gives a test.
type Option func(*options)

type options struct{ pgSettings []string }

// WithPostgresSettings gives the test a PostgreSQL server of its own started
// with these extra -c settings ("max_slot_wal_keep_size=64MB"), for settings
// that would disturb the other tests on the shared server.
func WithPostgresSettings(settings ...string) Option {
	return func(o *options) { o.pgSettings = append(o.pgSettings, settings...) }
}

// New gives the test a fresh database and Kafka broker, torn down by
// t.Cleanup. It fails the test, never skips it, when PostgreSQL cannot start.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	pg, err := postgresFor(t, o)
	if err != nil {
		t.Fatalf("testenv: PostgreSQL is required and could not start: %v", err)
	}
	ctx := context.Background()
	url, err := pg.NewDatabase(ctx)
	if err != nil {
		t.Fatalf("testenv: creating test database: %v", err)
	}
	pool, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(pool.Close)
	k, err := StartKafka(4, "")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(k.Close)
	a, err := StartAlign("")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(a.Close)
	return &Env{PG: pg, DatabaseURL: url, Pool: pool, Kafka: k, Align: a}
}

// postgresFor is the shared server, or a private one when the options ask
// for settings of their own.
func postgresFor(t testing.TB, o options) (*Postgres, error) {
	if len(o.pgSettings) == 0 {
		return SharedPostgres()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := StartPostgres(ctx, o.pgSettings...)
	if err == nil {
		t.Cleanup(pg.Stop)
	}
	return pg, err
}
