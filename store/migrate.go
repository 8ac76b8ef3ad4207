package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver goose uses
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var alignSyncMigrations embed.FS

//go:embed reference/*.sql
var referenceMigrations embed.FS

// Schema is the PostgreSQL schema that holds alignsync's own tables.
const Schema = "align_sync"

// MigrateOptions chooses what Migrate applies.
type MigrateOptions struct {
	// Reference also applies the reference Illumera schema (companies,
	// projects, ...). Only tests, the demo and new development databases want
	// it: a real Illumera database already has those tables.
	Reference bool
}

// MigrationResult names one applied migration.
type MigrationResult struct {
	Set     string // "reference" or "align_sync"
	Version int64
	Name    string
}

// Migrate brings the database up to date. It is idempotent and safe to run
// from several processes at once: goose holds a PostgreSQL advisory lock for
// the duration.
func Migrate(ctx context.Context, databaseURL string, opts MigrateOptions) ([]MigrationResult, error) {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return nil, connectError(err)
	}

	var applied []MigrationResult
	if opts.Reference {
		res, err := migrateSet(ctx, db, "reference", referenceMigrations, "reference", "public.alignsync_reference_version")
		if err != nil {
			return applied, err
		}
		applied = append(applied, res...)
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+Schema); err != nil {
		return applied, fmt.Errorf("creating schema %s: %w", Schema, err)
	}
	res, err := migrateSet(ctx, db, Schema, alignSyncMigrations, "migrations", Schema+".goose_db_version")
	return append(applied, res...), err
}

func migrateSet(ctx context.Context, db *sql.DB, set string, fsys embed.FS, dir, table string) ([]MigrationResult, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s migrations: %w", set, err)
	}
	store, err := database.NewStore(database.DialectPostgres, table)
	if err != nil {
		return nil, fmt.Errorf("creating %s version store: %w", set, err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("creating migration lock: %w", err)
	}
	provider, err := goose.NewProvider("", db, sub, goose.WithStore(store), goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("preparing %s migrations: %w", set, err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("applying %s migrations: %w", set, err)
	}
	out := make([]MigrationResult, 0, len(results))
	for _, r := range results {
		out = append(out, MigrationResult{Set: set, Version: r.Source.Version, Name: r.Source.Path})
	}
	return out, nil
}
