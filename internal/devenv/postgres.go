package devenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/store"
)

// Postgres is a private PostgreSQL server in a temporary directory.
type Postgres struct {
	// URL connects to the "postgres" database as the superuser.
	URL  string
	Port int
	Dir  string

	cmd      *exec.Cmd
	settings []string
	exited   chan struct{}
	cred     *syscall.Credential
	mu       sync.Mutex
	nextDB   int
	stopped  bool
}

// templateDB holds the migrated schemas; every test database is a copy of it.
const templateDB = "alignsync_template"

// serverSettings are the postgres -c options: logical decoding with room for
// many slots, and no disk flushes since the data is throwaway. Commits stay
// synchronous: with synchronous_commit=off the WAL reaches logical decoding
// only when the WAL writer flushes it (every 200 ms), which would hide the
// pipeline's own latency behind the server's.
var serverSettings = []string{
	"wal_level=logical",
	"max_replication_slots=40",
	"max_wal_senders=40",
	"max_connections=300",
	"fsync=off",
	"full_page_writes=off",
	"listen_addresses=127.0.0.1",
	"wal_sender_timeout=0",
	"log_min_messages=warning",
}

// BinDir finds the PostgreSQL server binaries: $PG_BINDIR, then
// `pg_config --bindir`, then Debian's /usr/lib/postgresql/<version>/bin.
func BinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("PostgreSQL server binaries not found: no initdb in $PG_BINDIR=%s", d)
		}
		return d, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	return "", errors.New("PostgreSQL server binaries not found: no initdb under $PG_BINDIR, `pg_config --bindir` or /usr/lib/postgresql/*/bin (install the postgresql package)")
}

// StartPostgres initialises and starts a server on a free loopback port and
// creates the migrated template database. Call Stop when done. settings are
// extra postgres -c options ("max_slot_wal_keep_size=64MB") that override
// serverSettings.
func StartPostgres(ctx context.Context, settings ...string) (*Postgres, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "alignsync-pg-")
	if err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	pg := &Postgres{Dir: dir, cred: cred, settings: append(append([]string(nil), serverSettings...), settings...)}
	if err := pg.initdb(bin); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = pg.start(ctx, bin); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		os.RemoveAll(dir)
		return nil, lastErr
	}
	if err := pg.createTemplate(ctx); err != nil {
		pg.Stop()
		return nil, err
	}
	return pg, nil
}

// serverCredential returns the postgres user's identity when running as root
// (initdb and postgres refuse to run as root), nil otherwise.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres user, but it does not exist: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (pg *Postgres) command(bin, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func (pg *Postgres) initdb(bin string) error {
	data := filepath.Join(pg.Dir, "data")
	if pg.cred != nil {
		if err := os.Chown(pg.Dir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			return fmt.Errorf("giving %s to the postgres user: %w", pg.Dir, err)
		}
	}
	cmd := pg.command(bin, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb in %s failed (%v): %s", data, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (pg *Postgres) start(ctx context.Context, bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	args := []string{"-D", filepath.Join(pg.Dir, "data"), "-p", strconv.Itoa(port), "-k", pg.Dir}
	for _, s := range pg.settings {
		args = append(args, "-c", s)
	}
	logPath := filepath.Join(pg.Dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("creating server log: %w", err)
	}
	defer logFile.Close()
	cmd := pg.command(bin, "postgres", args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	pg.cmd, pg.Port, pg.exited = cmd, port, make(chan struct{})
	go func() { _ = cmd.Wait(); close(pg.exited) }()
	pg.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := pg.waitReady(ctx); err != nil {
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("postgres on port %d did not become ready: %w; server log: %s", port, err, strings.TrimSpace(string(log)))
	}
	return nil
}

func (pg *Postgres) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, pg.URL)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-pg.exited:
			return errors.New("server process exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

func (pg *Postgres) createTemplate(ctx context.Context) error {
	if err := pg.exec(ctx, "CREATE DATABASE "+templateDB); err != nil {
		return err
	}
	if _, err := store.Migrate(ctx, pg.DatabaseURL(templateDB), store.MigrateOptions{Reference: true}); err != nil {
		return fmt.Errorf("migrating template database: %w", err)
	}
	return nil
}

func (pg *Postgres) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		return fmt.Errorf("connecting to postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("running %q: %w", sql, err)
	}
	return nil
}

// DatabaseURL is the URL of database name on this server.
func (pg *Postgres) DatabaseURL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.Port, name)
}

// NewDatabase creates a fresh migrated database (reference Illumera schema and
// align_sync) and returns its URL.
func (pg *Postgres) NewDatabase(ctx context.Context) (string, error) {
	pg.mu.Lock()
	pg.nextDB++
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), pg.nextDB)
	pg.mu.Unlock()
	return pg.NewNamedDatabase(ctx, name)
}

// NewNamedDatabase creates a fresh migrated database called name.
func (pg *Postgres) NewNamedDatabase(ctx context.Context, name string) (string, error) {
	if err := pg.exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateDB)); err != nil {
		return "", err
	}
	return pg.DatabaseURL(name), nil
}

// Stop shuts the server down immediately and removes its directory.
func (pg *Postgres) Stop() {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.stopped || pg.cmd == nil {
		return
	}
	pg.stopped = true
	_ = pg.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-pg.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pg.cmd.Process.Pid, syscall.SIGKILL)
		<-pg.exited
	}
	os.RemoveAll(pg.Dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
