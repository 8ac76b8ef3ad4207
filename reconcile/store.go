package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/connect/credentials"
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
		WHERE status = $2 AND ($1::uuid IS NULL OR company_id = $1::uuid) ORDER BY company_id`, nullable(only), credentials.StatusConnected)
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

// recordDiscrepancies brings the company's open discrepancies in line with
// one run, in one transaction: a difference found updates the open row of
// its project and field (or opens one), and a field the run found clean
// closes its open row, which stays as history. Projects the run could not
// compare are left as they were. It returns how many rows it closed.
func recordDiscrepancies(ctx context.Context, pool *pgxpool.Pool, runID, companyID string, detectedAt time.Time, projects []ProjectReport) (int, error) {
	b := &pgx.Batch{}
	var closing []int // indexes of the statements that close rows
	for _, p := range projects {
		if p.Error != "" {
			continue
		}
		found := []string{}
		for _, d := range p.Discrepancies {
			found = append(found, d.Field)
			b.Queue(`
				WITH upd AS (
				    UPDATE align_sync.reconciliation_discrepancies
				       SET illumera_value = $5, align_value = $6, last_detected_at = $7, last_run_id = $1
				     WHERE company_id = $2 AND project_id = $3 AND field = $4 AND resolved_at IS NULL
				    RETURNING 1
				)
				INSERT INTO align_sync.reconciliation_discrepancies
				       (run_id, company_id, project_id, field, illumera_value, align_value, detected_at, last_detected_at)
				SELECT $1, $2, $3, $4, $5, $6, $7, $7 WHERE NOT EXISTS (SELECT 1 FROM upd)`,
				runID, companyID, p.ProjectID, d.Field, d.IllumeraValue, d.AlignValue, detectedAt)
		}
		closing = append(closing, b.Len())
		b.Queue(`UPDATE align_sync.reconciliation_discrepancies SET resolved_at = $4, resolved_run_id = $1
			WHERE company_id = $2 AND project_id = $3 AND resolved_at IS NULL AND field <> ALL ($5::text[])`,
			runID, companyID, p.ProjectID, detectedAt, found)
	}
	if b.Len() == 0 {
		return 0, nil
	}
	closed := 0
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		for i := range b.Len() {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return err
			}
			if slices.Contains(closing, i) {
				closed += int(tag.RowsAffected())
			}
		}
		return br.Close()
	})
	if err != nil {
		return 0, fmt.Errorf("recording discrepancies: %w", err)
	}
	return closed, nil
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
