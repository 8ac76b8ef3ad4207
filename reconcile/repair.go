package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
)

// planRepairs lists what repair would do for one project's comparison.
func planRepairs(c comparison) []Repair {
	var out []Repair
	for _, s := range c.Ahead {
		out = append(out, Repair{Kind: RepairStatus, EntryID: s.EntryID, AlignEntryID: s.AlignEntryID, From: s.From, To: s.To,
			RejectionReason: s.Reason, change: s})
	}
	for _, id := range c.Missing {
		out = append(out, Repair{Kind: RepairReenqueue, EntryID: id})
	}
	return out
}

// repairer applies repairs for one company.
type repairer struct {
	pool      *pgxpool.Pool
	runID     string
	companyID string
}

// apply performs one planned repair and says what happened.
func (r repairer) apply(ctx context.Context, rp Repair) (Repair, error) {
	switch rp.Kind {
	case RepairStatus:
		return r.advance(ctx, rp)
	case RepairReenqueue:
		return r.reenqueue(ctx, rp)
	}
	return rp, fmt.Errorf("unknown repair kind %q", rp.Kind)
}

// advance writes Align's status back through the webhook handler's own
// path, which keeps statuses monotonic and stores the rejection reason, and
// records it as a repaired delivery, as the status sweep does.
func (r repairer) advance(ctx context.Context, rp Repair) (Repair, error) {
	payload, _ := json.Marshal(rp.change.Align)
	var note string
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var err error
		note, err = ingest.ApplyRepair(ctx, tx, ingest.Repair{
			CompanyID: r.companyID, EntryID: rp.EntryID, AlignEntryID: rp.AlignEntryID, Status: rp.To,
			RejectionReason: rp.RejectionReason, SeenUpdatedAt: rp.change.Seen, AlignUpdatedAt: rp.change.Align.UpdatedAt,
			Payload: payload,
		})
		return err
	})
	if errors.Is(err, ingest.ErrUnknownTimeEntry) {
		rp.Note = "the entry no longer exists in Illumera"
		return rp, nil
	}
	if err != nil {
		return rp, fmt.Errorf("writing status %s of entry %s: %w", rp.To, rp.EntryID, err)
	}
	rp.Applied, rp.Note = note == "", note
	return rp, nil
}

// reenqueue records the operations that bring the entry into Align, for the
// running sinks to perform; the key is unique per run and entry, so a second
// run enqueues again only if the first did not get it there.
func (r repairer) reenqueue(ctx context.Context, rp Repair) (Repair, error) {
	row, err := entryRow(ctx, r.pool, r.companyID, rp.EntryID)
	if err != nil {
		return rp, fmt.Errorf("preparing entry %s: %w", rp.EntryID, err)
	}
	ops := translate.EntrySync(row)
	if err := ledger.Enqueue(ctx, r.pool, r.companyID, "reconcile/"+r.runID+"/"+rp.EntryID, ops); err != nil {
		return rp, fmt.Errorf("enqueueing entry %s: %w", rp.EntryID, err)
	}
	rp.Applied = true
	return rp, nil
}
