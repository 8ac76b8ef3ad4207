package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
)

// db reads the current Illumera rows and alignsync's links for one company.
type db struct {
	pool      *pgxpool.Pool
	companyID string
	// links caches the company's links the lane has read or written: only
	// this company's single executor writes them, and a link, once made,
	// names the same Align entity for good.
	links linkCache
}

// linkCache maps "entity_type:illumera_id" to the Align id; nil disables it.
type linkCache map[string]string

func (c linkCache) put(entityType, illumeraID, alignID string) {
	if c != nil && alignID != "" {
		c[entityType+":"+illumeraID] = alignID
	}
}

// alignID returns the linked Align id of an Illumera entity, or "".
func (d db) alignID(ctx context.Context, entityType, illumeraID string) (string, error) {
	if id, ok := d.links[entityType+":"+illumeraID]; ok {
		return id, nil
	}
	var id string
	err := d.pool.QueryRow(ctx, `SELECT align_id FROM align_sync.entity_links
		WHERE company_id = $1 AND entity_type = $2 AND illumera_id = $3`, d.companyID, entityType, illumeraID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err == nil {
		d.links.put(entityType, illumeraID, id)
	}
	return id, wrap(err, "reading %s link %s", entityType, illumeraID)
}

// saveLink writes a link outside an operation's done transaction: for
// dependencies synced on the way and links found through Align.
func (d db) saveLink(ctx context.Context, l ledger.Link) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		VALUES ($1, $2, $3, $4) ON CONFLICT (company_id, entity_type, illumera_id)
		DO UPDATE SET align_id = EXCLUDED.align_id, updated_at = now()`, d.companyID, l.EntityType, l.IllumeraID, l.AlignID)
	if err == nil {
		d.links.put(l.EntityType, l.IllumeraID, l.AlignID)
	}
	return wrap(err, "saving %s link %s", l.EntityType, l.IllumeraID)
}

func (d db) deleteLink(ctx context.Context, entityType, illumeraID string) error {
	_, err := d.pool.Exec(ctx, `DELETE FROM align_sync.entity_links WHERE company_id = $1 AND entity_type = $2 AND illumera_id = $3`,
		d.companyID, entityType, illumeraID)
	if d.links != nil {
		delete(d.links, entityType+":"+illumeraID)
	}
	return wrap(err, "deleting %s link %s", entityType, illumeraID)
}

type projectRow struct {
	ID, Title, Status string
	Description       *string
}

func (d db) project(ctx context.Context, id string) (projectRow, error) {
	var p projectRow
	err := d.pool.QueryRow(ctx, `SELECT id::text, title, description, status FROM projects
		WHERE id = $1 AND company_id = $2`, id, d.companyID).Scan(&p.ID, &p.Title, &p.Description, &p.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, permanent("project %s not found in Illumera for company %s", id, d.companyID)
	}
	return p, wrap(err, "reading project %s", id)
}

type talentRow struct{ ID, Email, FullName string }

func (d db) talent(ctx context.Context, id string) (talentRow, error) {
	var t talentRow
	err := d.pool.QueryRow(ctx, `SELECT id::text, email, full_name FROM talent WHERE id = $1`, id).Scan(&t.ID, &t.Email, &t.FullName)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, permanent("talent %s not found in Illumera", id)
	}
	return t, wrap(err, "reading talent %s", id)
}

type engagementRow struct {
	ID, ProjectID, TalentID string
	RateCents               int
}

func (d db) engagement(ctx context.Context, id string) (engagementRow, error) {
	var e engagementRow
	err := d.pool.QueryRow(ctx, `SELECT id::text, project_id::text, talent_id::text, rate_cents FROM engagements
		WHERE id = $1 AND company_id = $2`, id, d.companyID).Scan(&e.ID, &e.ProjectID, &e.TalentID, &e.RateCents)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, permanent("engagement %s not found in Illumera for company %s", id, d.companyID)
	}
	return e, wrap(err, "reading engagement %s", id)
}

type entryRow struct {
	ID, EngagementID, ProjectID, TalentID, WorkDate, Status string
	Minutes                                                 int
	Description, AdjustmentOf                               *string
}

func (d db) entry(ctx context.Context, id string) (entryRow, error) {
	var e entryRow
	err := d.pool.QueryRow(ctx, `SELECT id::text, engagement_id::text, project_id::text, talent_id::text,
		to_char(work_date, 'YYYY-MM-DD'), status, minutes, description, adjustment_of::text
		FROM time_entries WHERE id = $1 AND company_id = $2`, id, d.companyID).Scan(
		&e.ID, &e.EngagementID, &e.ProjectID, &e.TalentID, &e.WorkDate, &e.Status, &e.Minutes, &e.Description, &e.AdjustmentOf)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, permanent("time entry %s not found in Illumera for company %s", id, d.companyID)
	}
	return e, wrap(err, "reading time entry %s", id)
}

// liveEngagements counts the talent's engagements on the project, other than
// except, that are accepted or active: each keeps them a member in Align.
func (d db) liveEngagements(ctx context.Context, projectID, talentID, except string) (int, error) {
	var n int
	err := d.pool.QueryRow(ctx, `SELECT count(*) FROM engagements
		WHERE company_id = $1 AND project_id = $2 AND talent_id = $3 AND id <> $4 AND status = ANY($5)`,
		d.companyID, projectID, talentID, except, translate.MemberStatuses).Scan(&n)
	return n, wrap(err, "reading the engagements of talent %s on project %s", talentID, projectID)
}

type roleRow struct {
	Title                       string
	HoursPerWeek, DurationWeeks int
}

// openRoles lists the project's open roles for the staffing plan.
func (d db) openRoles(ctx context.Context, projectID string) ([]roleRow, error) {
	rows, err := d.pool.Query(ctx, `SELECT title, hours_per_week, duration_weeks FROM project_roles
		WHERE project_id = $1 AND company_id = $2 AND status = 'open' ORDER BY created_at, title`, projectID, d.companyID)
	if err != nil {
		return nil, fmt.Errorf("reading open roles of project %s: %w", projectID, err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[roleRow])
}

func link(entityType, illumeraID, alignID string) ledger.Link {
	return ledger.Link{EntityType: entityType, IllumeraID: illumeraID, AlignID: alignID}
}
