package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects a pool and checks that the database answers.
func Open(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connectError(err)
	}
	return pool, nil
}

// connectFailure is a connection that could not be made, worded once.
type connectFailure struct {
	msg string
	err error
}

func (e *connectFailure) Error() string { return e.msg }
func (e *connectFailure) Unwrap() error { return e.err }

// connectError words a failed connection in one line: where it went (host
// and port, user, database) and each distinct cause once. pgx's own message
// has a line per attempt, and with sslmode=prefer it attempts twice (with
// and without TLS), so an unreachable server read as two failures.
func connectError(err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) || ce.Config == nil {
		return fmt.Errorf("connecting to database: %w", err)
	}
	var attempts []error
	if joined, ok := ce.Unwrap().(interface{ Unwrap() []error }); ok {
		attempts = joined.Unwrap()
	} else {
		attempts = []error{ce.Unwrap()}
	}
	var causes []string
	for _, a := range attempts {
		if c := rootCause(a); !slices.Contains(causes, c) {
			causes = append(causes, c)
		}
	}
	c := ce.Config
	where := net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
	if strings.HasPrefix(c.Host, "/") {
		where = fmt.Sprintf("%s/.s.PGSQL.%d", c.Host, c.Port)
	}
	return &connectFailure{err: err, msg: fmt.Sprintf("connecting to database at %s (user %q, database %q): %s",
		where, c.User, c.Database, strings.Join(causes, "; "))}
}

// rootCause is the innermost error's text: "connection refused" rather than
// the dial, address and attempt that wrap it (the caller names the address).
func rootCause(err error) string {
	if err == nil {
		return "unknown error"
	}
	for next := errors.Unwrap(err); next != nil; next = errors.Unwrap(err) {
		err = next
	}
	return err.Error()
}
