package connect

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/connect/credentials"
)

// Options are what an admin decided beyond the key.
type Options struct {
	// StartOver confirms connecting to an Align organization other than the
	// one the company's entity links point into: those links are retired
	// (moved to align_sync.retired_entity_links, kept for audit and never
	// used again), so entities are created in the new organization as they
	// change. Without it such a connect is refused (CodeOrganizationChanged).
	StartOver bool
	// StartOverOrganization, when set, limits StartOver to that organization,
	// so a confirmation given for one organization does not carry over to a
	// key of another.
	StartOverOrganization string
}

func (o Options) startsOverIn(orgID string) bool {
	return o.StartOver && (o.StartOverOrganization == "" || strings.EqualFold(o.StartOverOrganization, orgID))
}

// orgMove is a connect into another organization than the one the company's
// links point into.
type orgMove struct {
	from, to string
}

// checkOrganization decides what a connect into orgID does to the company's
// links. The organization stored on the connection is the one its links
// point into: it changes only here, with the links retired in the same
// transaction, and stays on disconnect. A move without links has nothing to
// retire; a move with links needs the admin's confirmation.
func checkOrganization(ctx context.Context, tx pgx.Tx, old credentials.Row, hadOld bool, orgID string, opts Options) (*orgMove, error) {
	prev := deref(old.OrganizationID)
	if !hadOld || prev == "" || prev == orgID {
		return nil, nil
	}
	var links int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM align_sync.entity_links WHERE company_id = $1`, old.CompanyID).Scan(&links); err != nil {
		return nil, fmt.Errorf("counting entity links of company %s: %w", old.CompanyID, err)
	}
	if links == 0 {
		return nil, nil
	}
	if !opts.startsOverIn(orgID) {
		return nil, organizationChanged(prev, orgID, links)
	}
	return &orgMove{from: prev, to: orgID}, nil
}

// retireLinks moves every link of the company to retired_entity_links. The
// sink reads and writes align_sync.entity_links by (company, type, Illumera
// id) only, so after this it finds no Align id of the old organization and
// creates the entity in the new one.
func retireLinks(ctx context.Context, tx pgx.Tx, companyID string, m orgMove) (int64, error) {
	tag, err := tx.Exec(ctx, `
		WITH retired AS (
			DELETE FROM align_sync.entity_links WHERE company_id = $1
			RETURNING company_id, entity_type, illumera_id, align_id, created_at, updated_at
		)
		INSERT INTO align_sync.retired_entity_links (company_id, organization_id, entity_type, illumera_id, align_id,
		       linked_at, link_updated_at, replaced_by_organization_id)
		SELECT company_id, $2, entity_type, illumera_id, align_id, created_at, updated_at, $3 FROM retired`,
		companyID, m.from, m.to)
	if err != nil {
		return 0, fmt.Errorf("retiring entity links of company %s: %w", companyID, err)
	}
	return tag.RowsAffected(), nil
}
