package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/ingest"
)

// sweptStatuses are the statuses Align may still move an entry from without
// Illumera's doing (approve or reject, lock, invoice); a draft or rejected
// entry moves only when Illumera submits it.
var sweptStatuses = []string{ingest.StatusSubmitted, ingest.StatusApproved, ingest.StatusLocked}

// dueEntry is an entry the sweep reads from Align.
type dueEntry struct {
	illumeraEntry
	alignID string
}

// dueEntries lists up to limit of the company's linked entries in a swept
// status that Illumera last changed more than minAge ago and that no
// unfinished operation touches: first those not read since they last
// changed, submitted ones first, then those read longest ago, leaving out
// those read within recheck (by another instance's round).
func dueEntries(ctx context.Context, pool *pgxpool.Pool, companyID string, minAge, recheck time.Duration, inFlight map[string]bool, limit int) ([]dueEntry, error) {
	busy := append([]string{}, slices.Collect(maps.Keys(inFlight))...) // never NULL: <> ALL (NULL) matches nothing
	rows, err := pool.Query(ctx, `
		SELECT te.id::text, te.status, te.updated_at, coalesce(te.rejection_reason, ''), l.align_id
		  FROM time_entries te
		  JOIN align_sync.entity_links l
		    ON l.company_id = te.company_id AND l.entity_type = 'time_entry' AND l.illumera_id = te.id::text
		  LEFT JOIN align_sync.status_checks sc ON sc.company_id = te.company_id AND sc.time_entry_id = te.id
		 WHERE te.company_id = $1
		   AND te.status = ANY ($2::text[])
		   AND te.updated_at < now() - $3::interval
		   AND (sc.checked_at IS NULL OR sc.checked_at < te.updated_at OR sc.checked_at < now() - $4::interval)
		   AND te.id::text <> ALL ($5::text[])
		 ORDER BY (sc.checked_at IS NULL OR sc.checked_at < te.updated_at) DESC, te.status = $7 DESC,
		          sc.checked_at NULLS FIRST, te.updated_at, te.id
		 LIMIT $6`,
		companyID, sweptStatuses, minAge, recheck, busy, limit, ingest.StatusSubmitted)
	if err != nil {
		return nil, fmt.Errorf("listing entries to check: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dueEntry, error) {
		e := dueEntry{illumeraEntry: illumeraEntry{Linked: true}}
		err := r.Scan(&e.ID, &e.Status, &e.UpdatedAt, &e.RejectionReason, &e.alignID)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing entries to check: %w", err)
	}
	return out, nil
}

// statusCheck is one entry read from Align.
type statusCheck struct{ entryID, alignStatus string }

// recordChecks remembers when the entries were read, so that the next
// rounds read the others first.
func recordChecks(ctx context.Context, pool *pgxpool.Pool, companyID string, checks []statusCheck) error {
	if len(checks) == 0 {
		return nil
	}
	ids := make([]string, len(checks))
	statuses := make([]string, len(checks))
	for i, c := range checks {
		ids[i], statuses[i] = c.entryID, c.alignStatus
	}
	_, err := pool.Exec(ctx, `
		INSERT INTO align_sync.status_checks (company_id, time_entry_id, checked_at, align_status)
		SELECT $1, id::uuid, now(), status FROM unnest($2::text[], $3::text[]) AS c(id, status)
		ON CONFLICT (company_id, time_entry_id) DO UPDATE
		   SET checked_at = EXCLUDED.checked_at, align_status = EXCLUDED.align_status`,
		companyID, ids, statuses)
	if err != nil {
		return fmt.Errorf("recording status checks: %w", err)
	}
	return nil
}

// forgetSettledChecks drops, a bounded number at a time, the checks of
// entries the sweep no longer reads (deleted, or in a status Align moves no
// further), so the table follows the entries in flight.
func forgetSettledChecks(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `
		DELETE FROM align_sync.status_checks
		 WHERE (company_id, time_entry_id) IN (
		       SELECT sc.company_id, sc.time_entry_id
		         FROM align_sync.status_checks sc
		         LEFT JOIN time_entries te ON te.id = sc.time_entry_id AND te.company_id = sc.company_id
		        WHERE te.id IS NULL OR te.status <> ALL ($1::text[])
		        LIMIT 1000)`, sweptStatuses)
	if err != nil {
		return fmt.Errorf("forgetting settled status checks: %w", err)
	}
	return nil
}
