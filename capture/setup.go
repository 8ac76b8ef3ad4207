package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// permanentError is a setup failure retrying cannot fix: a missing table,
// a missing privilege, a slot of another kind.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// isPermanent reports whether retrying cannot fix err.
func isPermanent(err error) bool {
	var perm *permanentError
	var lost *SlotLostError
	return errors.As(err, &perm) || errors.As(err, &lost)
}

// classify marks PostgreSQL refusals (SQLSTATE class 42: undefined object,
// insufficient privilege) as permanent.
func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "42") {
		return &permanentError{err}
	}
	return err
}

// setup creates the publication, then the slot. The order matters: a slot
// decodes with the catalog as of each change, so a publication created after
// the slot would be missing for the changes in between.
func (c *Capture) setup(ctx context.Context, pool *pgxpool.Pool) error {
	// Read again at every start: a previous leader may have moved it.
	rec, err := c.positions.load(ctx)
	if err != nil {
		return err
	}
	c.recorded = rec
	if err := publish(ctx, pool, c.cfg, c.logger); err != nil {
		return err
	}
	return c.prepareSlot(ctx, pool)
}

// publish creates the publication, or adds the configured tables it lacks.
func publish(ctx context.Context, pool *pgxpool.Pool, cfg Config, logger *slog.Logger) error {
	tables, err := resolveTables(ctx, pool, cfg.Tables)
	if err != nil {
		return err
	}
	return ensurePublication(ctx, pool, cfg.Publication, tables, logger)
}

// qualifiedName is a resolved table.
type qualifiedName struct{ schema, table string }

func (q qualifiedName) String() string { return q.schema + "." + q.table }

func (q qualifiedName) sanitize() string { return pgx.Identifier{q.schema, q.table}.Sanitize() }

// resolveTables finds each configured table through the search path.
func resolveTables(ctx context.Context, pool *pgxpool.Pool, names []string) ([]qualifiedName, error) {
	out := make([]qualifiedName, 0, len(names))
	for _, name := range names {
		var q qualifiedName
		err := pool.QueryRow(ctx, `SELECT n.nspname, c.relname FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, name).Scan(&q.schema, &q.table)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, &permanentError{fmt.Errorf("resolving table %q: it does not exist", name)}
		}
		if err != nil {
			return nil, fmt.Errorf("resolving table %q: %w", name, classify(err))
		}
		out = append(out, q)
	}
	return out, nil
}

// ensurePublication creates the publication when absent and adds configured
// tables it lacks. Both need ownership of the tables; see doc.go for running
// capture without it.
func ensurePublication(ctx context.Context, pool *pgxpool.Pool, pub string, tables []qualifiedName, logger *slog.Logger) error {
	published, exists, err := publishedTables(ctx, pool, pub)
	if err != nil {
		return err
	}
	var missing []string
	for _, t := range tables {
		if !published[t] {
			missing = append(missing, t.sanitize())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	stmt := "ALTER PUBLICATION " + pgx.Identifier{pub}.Sanitize() + " ADD TABLE " + strings.Join(missing, ", ")
	if !exists {
		stmt = "CREATE PUBLICATION " + pgx.Identifier{pub}.Sanitize() + " FOR TABLE " + strings.Join(missing, ", ")
	}
	if _, err := pool.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("running %q (see alignsync capture --check): %w", stmt, classify(err))
	}
	logger.Info("publication updated", slog.String("publication", pub), slog.String("statement", stmt))
	return nil
}

func publishedTables(ctx context.Context, pool *pgxpool.Pool, pub string) (map[qualifiedName]bool, bool, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, pub).Scan(&exists); err != nil {
		return nil, false, fmt.Errorf("reading publication %s: %w", pub, err)
	}
	rows, err := pool.Query(ctx, `SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1`, pub)
	if err != nil {
		return nil, false, fmt.Errorf("reading tables of publication %s: %w", pub, err)
	}
	out := map[qualifiedName]bool{}
	var q qualifiedName
	_, err = pgx.ForEachRow(rows, []any{&q.schema, &q.table}, func() error { out[q] = true; return nil })
	if err != nil {
		return nil, false, fmt.Errorf("reading tables of publication %s: %w", pub, err)
	}
	return out, exists, nil
}
