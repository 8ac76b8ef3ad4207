package resync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/connect/credentials"
)

// Options says what to resync.
type Options struct {
	CompanyID string    // one company (UUID); empty: every connected company
	Since     time.Time // rows created or updated at or after it
	DryRun    bool      // count the operations without enqueueing them
}

// Report is what a resync did, company by company.
type Report struct {
	Since     time.Time       `json:"since"`
	DryRun    bool            `json:"dryRun"`
	Companies []CompanyReport `json:"companies"`
}

// CompanyReport is one company's part of a resync.
type CompanyReport struct {
	CompanyID string `json:"companyId"`
	// Since is where the company's resync started: the asked time, or the
	// connection's when later, since history is not backfilled.
	Since      time.Time      `json:"since"`
	Rows       map[string]int `json:"rows"`       // rows read, by table
	Operations map[string]int `json:"operations"` // operations enqueued (or, dry, due), by table
}

// Run enqueues, for every company asked for, the operations that bring
// Align to each synced row changed since opts.Since. It stops at the first
// failure; the report says which companies were done, and running it again
// is safe.
func Run(ctx context.Context, pool *pgxpool.Pool, opts Options) (Report, error) {
	rep := Report{Since: opts.Since.UTC(), DryRun: opts.DryRun}
	if opts.Since.IsZero() {
		return rep, errors.New("resync needs a time to start from")
	}
	companies, err := connectedCompanies(ctx, pool, opts.CompanyID)
	if err != nil {
		return rep, err
	}
	l := pipelineLedger{pool: pool}
	for _, c := range companies {
		cr, err := resyncCompany(ctx, pool, l, c, opts)
		if err != nil {
			return rep, fmt.Errorf("resyncing company %s: %w", c.id, err)
		}
		rep.Companies = append(rep.Companies, cr)
	}
	return rep, nil
}

type company struct {
	id          string
	connectedAt *time.Time
}

func resyncCompany(ctx context.Context, pool *pgxpool.Pool, l ledger, c company, opts Options) (CompanyReport, error) {
	cr := CompanyReport{CompanyID: c.id, Since: opts.Since.UTC(), Rows: map[string]int{}, Operations: map[string]int{}}
	if c.connectedAt != nil && c.connectedAt.After(cr.Since) {
		cr.Since = c.connectedAt.UTC()
	}
	for _, t := range Tables {
		cr.Rows[t], cr.Operations[t] = 0, 0
	}
	rows, err := changedRows(ctx, pool, c.id, cr.Since)
	if err != nil {
		return cr, err
	}
	for _, r := range rows {
		last, err := l.lastRecorded(ctx, c.id, r.table, r.id)
		if err != nil {
			return cr, err
		}
		n, err := l.enqueue(ctx, c.id, r.key(), changeFor(r, last), opts.DryRun)
		if err != nil {
			return cr, err
		}
		cr.Rows[r.table]++
		cr.Operations[r.table] += n
	}
	return cr, nil
}

// connectedCompanies lists the companies whose changes the sinks sync:
// connected, or in error (their operations wait for a reconnect and Retry
// Failed). A company asked for by id must be one of them.
func connectedCompanies(ctx context.Context, pool *pgxpool.Pool, only string) ([]company, error) {
	var onlyArg any
	if only != "" {
		onlyArg = only
	}
	rows, err := pool.Query(ctx, `SELECT company_id::text, connected_at FROM align_sync.connections
		WHERE status = ANY ($2::text[]) AND ($1::uuid IS NULL OR company_id = $1::uuid) ORDER BY company_id`, onlyArg,
		[]string{credentials.StatusConnected, credentials.StatusError})
	if err != nil {
		return nil, fmt.Errorf("listing connected companies: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (company, error) {
		var c company
		return c, r.Scan(&c.id, &c.connectedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("listing connected companies: %w", err)
	}
	if only != "" && len(out) == 0 {
		status := "never connected"
		_ = pool.QueryRow(ctx, `SELECT status FROM align_sync.connections WHERE company_id = $1::uuid`, only).Scan(&status)
		return nil, fmt.Errorf("company %s is not connected to Align (%s): nothing of it is synced", only, status)
	}
	return out, nil
}
