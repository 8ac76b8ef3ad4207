package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/reconcile"
	"github.com/illumera/alignsync/store"
)

func init() {
	register(command{name: "reconcile", summary: "compare Illumera's and Align's approved totals; --repair fixes missed updates", run: runReconcile})
}

type reconcileFlags struct {
	databaseURL, encryptionKeys, alignBaseURL string
	company, window                           string
	ratePerMinute                             int
	repair, json                              bool
	parsedWindow                              reconcile.Window
	keyring                                   *credentials.Keyring
}

func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c reconcileFlags
	f := newFlagSet("reconcile", "For each connected company (or --company) and each project it has linked, compares the\n"+
		"minutes and cost of approved, locked and invoiced time entries in Illumera and in Align over a window\n"+
		"of work dates, records differences (minutes, or cost by more than 100 cents) in\n"+
		"align_sync.reconciliation_discrepancies, and checks entity links against Align's integration links.\n"+
		"--repair writes back statuses whose webhook was missed and re-enqueues entries Align never\n"+
		"received (running sinks send them). Exit 0 when it ran, whatever it found; 1 when it could not\n"+
		"run or some company could not be compared.")
	f.String(&c.databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL of Illumera's database (align_sync schema migrated)")
	f.String(&c.encryptionKeys, "encryption-keys", "ALIGNSYNC_ENCRYPTION_KEYS", "", "keyring that decrypts stored Align keys: id:base64(32 bytes)[,id:base64...]")
	f.String(&c.alignBaseURL, "align-base-url", "ALIGN_BASE_URL", "https://app.alignsoft.us/api/v1", "Align API root, version included")
	f.String(&c.company, "company", "ALIGNSYNC_RECONCILE_COMPANY", "", "reconcile only this company (UUID); default every connected company")
	f.String(&c.window, "window", "ALIGNSYNC_RECONCILE_WINDOW", "7d", "work dates compared: Nd (the N days before today, UTC, through today), all, or YYYY-MM-DD..YYYY-MM-DD")
	f.Int(&c.ratePerMinute, "align-rate-per-minute", "ALIGNSYNC_RECONCILE_RATE_PER_MINUTE", reconcile.DefaultRatePerMinute,
		"Align requests per minute per key; the sink shares Align's 600")
	f.Bool(&c.repair, "repair", "ALIGNSYNC_RECONCILE_REPAIR", false, "write back missed statuses (monotonic, as the webhook handler) and re-enqueue entries Align never received")
	f.Bool(&c.json, "json", "ALIGNSYNC_RECONCILE_JSON", false, "print the report as JSON")
	if code := parseFlags(f, args, stdout, stderr, func() { c.validate(f) }); code >= 0 {
		return code
	}
	rep, err := reconcileOnce(ctx, c, f.Logger(stderr))
	if rep.RunID != "" {
		if werr := writeReport(stdout, rep, c.json); werr != nil {
			fmt.Fprintf(stderr, "alignsync reconcile: writing the report: %v\n", werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "alignsync reconcile: %v\n", err)
		return 1
	}
	return 0
}

func (c *reconcileFlags) validate(f *flagSet) {
	f.Require(c.databaseURL, "database-url")
	f.Require(c.encryptionKeys, "encryption-keys")
	f.Require(c.alignBaseURL, "align-base-url")
	c.keyring = parseKeyring(f, c.encryptionKeys)
	if c.company != "" {
		if _, err := credentials.CanonicalID(c.company); err != nil {
			f.Problem("--company %q: not a UUID", c.company)
		}
	}
	w, err := reconcile.ParseWindow(c.window)
	if err != nil {
		f.Problem("--window: %v", err)
	}
	c.parsedWindow = w
	if c.ratePerMinute < 1 {
		f.Problem("--align-rate-per-minute %d: must be at least 1", c.ratePerMinute)
	}
}

func reconcileOnce(ctx context.Context, c reconcileFlags, logger *slog.Logger) (reconcile.Report, error) {
	pool, err := store.Open(ctx, c.databaseURL)
	if err != nil {
		return reconcile.Report{}, err
	}
	defer pool.Close()
	keys, err := credentials.New(pool, c.keyring)
	if err != nil {
		return reconcile.Report{}, err
	}
	rec, err := reconcile.New(reconcile.Config{Pool: pool, Keys: keys, AlignBaseURL: c.alignBaseURL,
		AlignRatePerMinute: c.ratePerMinute, Logger: logger})
	if err != nil {
		return reconcile.Report{}, err
	}
	return rec.Run(ctx, reconcile.Options{CompanyID: c.company, Window: c.parsedWindow, Repair: c.repair})
}

func writeReport(w io.Writer, rep reconcile.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
