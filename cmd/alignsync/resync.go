package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/resync"
	"github.com/illumera/alignsync/store"
)

func init() {
	register(command{name: "resync", summary: "enqueue the current state of every row changed since a time (after a lost replication slot)", run: runResync})
}

type resyncFlags struct {
	databaseURL, company, since string
	dryRun, json                bool
	parsedSince                 time.Time
}

func runResync(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c resyncFlags
	f := newFlagSet("resync", "Closes a gap in the change stream, such as the one a lost replication slot leaves (see\n"+
		"`alignsync capture --help`). For every connected company (or --company), reads the projects,\n"+
		"engagements and time entries created or updated since --since (never before the company\n"+
		"connected) and enqueues, through the sinks' own idempotent ledger, the Align operations that\n"+
		"bring Align to each row as it is now: a project is created or updated, an accepted engagement\n"+
		"provisions the user and the membership, a submitted entry is created and submitted. Running\n"+
		"sinks perform them; nothing is doubled, and running resync again enqueues nothing new. Take\n"+
		"--since from capture's error (an hour before it last confirmed a position); earlier only costs\n"+
		"time. Exit 0 when done, 1 when it could not finish (run it again).")
	f.String(&c.databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL of Illumera's database (align_sync schema migrated)")
	f.String(&c.company, "company", "ALIGNSYNC_RESYNC_COMPANY", "", "resync only this company (UUID); default every connected company")
	f.String(&c.since, "since", "ALIGNSYNC_RESYNC_SINCE", "", "rows created or updated at or after this time: RFC 3339 (2026-11-25T09:30:00Z) or a UTC date (2026-11-25)")
	f.Bool(&c.dryRun, "dry-run", "ALIGNSYNC_RESYNC_DRY_RUN", false, "count the rows and operations without enqueueing anything")
	f.Bool(&c.json, "json", "ALIGNSYNC_RESYNC_JSON", false, "print the report as JSON")
	if code := parseFlags(f, args, stdout, stderr, func() { c.validate(f) }); code >= 0 {
		return code
	}
	pool, err := store.Open(ctx, c.databaseURL)
	if err != nil {
		fmt.Fprintf(stderr, "alignsync resync: %v\n", err)
		return 1
	}
	defer pool.Close()
	rep, err := resync.Run(ctx, pool, resync.Options{CompanyID: c.company, Since: c.parsedSince, DryRun: c.dryRun})
	if err == nil || len(rep.Companies) > 0 {
		if werr := writeResyncReport(stdout, rep, c.json); werr != nil {
			fmt.Fprintf(stderr, "alignsync resync: writing the report: %v\n", werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "alignsync resync: %v\n", err)
		return 1
	}
	return 0
}

func (c *resyncFlags) validate(f *flagSet) {
	f.Require(c.databaseURL, "database-url")
	f.Require(c.since, "since")
	if c.company != "" {
		if _, err := credentials.CanonicalID(c.company); err != nil {
			f.Problem("--company %q: not a UUID", c.company)
		}
	}
	if c.since == "" {
		return
	}
	t, err := time.Parse(time.RFC3339, c.since)
	if err != nil {
		t, err = time.Parse(time.DateOnly, c.since)
	}
	if err != nil {
		f.Problem("--since %q: not an RFC 3339 time (2026-11-25T09:30:00Z) or a date (2026-11-25)", c.since)
		return
	}
	if t.After(time.Now()) {
		f.Problem("--since %q: in the future", c.since)
	}
	c.parsedSince = t
}

func writeResyncReport(w io.Writer, rep resync.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
