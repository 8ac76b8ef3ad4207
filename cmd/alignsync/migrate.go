package main

import (
	"context"
	"fmt"
	"io"

	"github.com/illumera/alignsync/store"
)

func init() {
	register(command{name: "migrate", summary: "create or update the align_sync schema (idempotent)", run: runMigrate})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var url string
	var reference bool
	f := newFlagSet("migrate", "Applies alignsync's embedded migrations (schema align_sync) to the database. Safe to run\n"+
		"repeatedly and from several processes at once. With --reference-schema it also creates the\n"+
		"reference Illumera tables (companies, talent, projects, project_roles, engagements,\n"+
		"time_entries): for development and tests, never against Illumera's production database.")
	f.String(&url, "database-url", "DATABASE_URL", "", "PostgreSQL URL, e.g. postgres://user@host:5432/illumera")
	f.Bool(&reference, "reference-schema", "ALIGNSYNC_REFERENCE_SCHEMA", false, "also apply the reference Illumera schema")
	if code := parseFlags(f, args, stdout, stderr, func() { f.Require(url, "database-url") }); code >= 0 {
		return code
	}
	results, err := store.Migrate(ctx, url, store.MigrateOptions{Reference: reference})
	for _, r := range results {
		fmt.Fprintf(stdout, "applied %s %05d %s\n", r.Set, r.Version, r.Name)
	}
	if err != nil {
		fmt.Fprintf(stderr, "alignsync migrate: %v\n", err)
		return 1
	}
	if len(results) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	return 0
}
