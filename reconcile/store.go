package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// company is a connected company a run reconciles.
type company struct {
	ID string
	// ConnectedAt bounds the scope: an unlinked entry untouched since before
	// the connection is history, which the integration never backfills.
	ConnectedAt *time.Time
}

// companies lists the connected companies, or the one asked for (which must
// be connected).
func companies(ctx context.Context, pool *pgxpool.Pool, only string) ([]company, error) {
	rows, err := pool.Query(ctx, `SELECT company_id::text, connected_at FROM align_sync.connections
		WHERE status = 'connected' AND ($1::uuid IS NULL OR company_id = $1::uuid) ORDER BY company_id`, nullable(only))
	if err != nil {
		return nil, fmt.Errorf("listing connected companies: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[company])
	if err != nil {
		return nil, fmt.Errorf("listing connected companies: %w", err)
	}
	if only != "" && len(out) == 0 {
		var status string
		err := pool.QueryRow(ctx, `SELECT status FROM align_sync.connections WHERE company_id = $1::uuid`, only).Scan(&status)
		if err != nil {
			status = "never connected"
		}
		return nil, fmt.Errorf("company %s is not connected to Align (%s)", only, status)
	}
	return out, nil
}

// projectLink is an Illumera project and the Align project it is synced to.
type projectLink struct{ ID, AlignID string }

func linkedProjects(ctx context.Context, pool *pgxpool.Pool, companyID string) ([]projectLink, error) {
	rows, err := pool.Query(ctx, `SELECT illumera_id, align_id FROM align_sync.entity_links
		WHERE company_id = $1 AND entity_type = 'project' ORDER BY illumera_id`, companyID)
	if err != nil {
		return nil, fmt.Errorf("listing linked projects: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[projectLink])
	if err != nil {
		return nil, fmt.Errorf("listing linked projects: %w", err)
	}
	return out, nil
}

// entryRow reads a time entry's current row, as the translation reads a
// captured change's.
func entryRow(ctx context.Context, pool *pgxpool.Pool, companyID, entryID string) (map[string]any, error) {
	var raw []byte
	err := pool.QueryRow(ctx, `SELECT to_jsonb(te) FROM time_entries te WHERE id = $1 AND company_id = $2`,
		entryID, companyID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("time entry %s not found in Illumera for company %s", entryID, companyID)
	}
	if err != nil {
		return nil, fmt.Errorf("reading time entry %s: %w", entryID, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var row map[string]any
	if err := dec.Decode(&row); err != nil {
		return nil, fmt.Errorf("decoding time entry %s: %w", entryID, err)
	}
	return row, nil
}

// projectEntries reads a project's entries with work dates in [start, end]
// (empty: unbounded) that are in scope: linked, or touched since the
// connection.
func projectEntries(ctx context.Context, pool *pgxpool.Pool, c company, projectID, start, end string, inFlight map[string]bool) ([]illumeraEntry, error) {
	rows, err := pool.Query(ctx, `
		SELECT te.id::text, te.minutes, te.status, e.rate_cents::bigint, te.updated_at,
		       l.align_id IS NOT NULL, coalesce(te.rejection_reason, '')
		  FROM time_entries te
		  JOIN engagements e ON e.id = te.engagement_id
		  LEFT JOIN align_sync.entity_links l
		         ON l.company_id = te.company_id AND l.entity_type = 'time_entry' AND l.illumera_id = te.id::text
		 WHERE te.company_id = $1 AND te.project_id = $2::uuid
		   AND ($3::date IS NULL OR te.work_date >= $3::date)
		   AND ($4::date IS NULL OR te.work_date <= $4::date)
		   AND (l.align_id IS NOT NULL OR $5::timestamptz IS NULL OR te.updated_at >= $5::timestamptz)
		 ORDER BY te.work_date, te.id`, c.ID, projectID, nullable(start), nullable(end), c.ConnectedAt)
	if err != nil {
		return nil, fmt.Errorf("reading time entries of project %s: %w", projectID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (illumeraEntry, error) {
		var e illumeraEntry
		err := r.Scan(&e.ID, &e.Minutes, &e.Status, &e.RateCents, &e.UpdatedAt, &e.Linked, &e.RejectionReason)
		e.InFlight = inFlight[e.ID]
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading time entries of project %s: %w", projectID, err)
	}
	return out, nil
}

// recordDiscrepancies writes a company's discrepancies of one run at once.
func recordDiscrepancies(ctx context.Context, pool *pgxpool.Pool, runID, companyID string, detectedAt time.Time, projects []ProjectReport) error {
	b := &pgx.Batch{}
	for _, p := range projects {
		for _, d := range p.Discrepancies {
			b.Queue(`INSERT INTO align_sync.reconciliation_discrepancies
				(run_id, company_id, project_id, field, illumera_value, align_value, detected_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				runID, companyID, p.ProjectID, d.Field, d.IllumeraValue, d.AlignValue, detectedAt)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return fmt.Errorf("recording discrepancies: %w", err)
	}
	return nil
}

// dbLink is one of alignsync's entity links.
type dbLink struct{ EntityType, IllumeraID, AlignID string }

// entityLinks lists the company's links that Align also records as
// integration links (memberships have none).
func entityLinks(ctx context.Context, pool *pgxpool.Pool, companyID string) ([]dbLink, error) {
	rows, err := pool.Query(ctx, `SELECT entity_type, illumera_id, align_id FROM align_sync.entity_links
		WHERE company_id = $1 AND entity_type <> 'project_member' ORDER BY entity_type, illumera_id`, companyID)
	if err != nil {
		return nil, fmt.Errorf("listing entity links: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbLink])
	if err != nil {
		return nil, fmt.Errorf("listing entity links: %w", err)
	}
	return out, nil
}

// nullable passes an empty string as SQL NULL.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
