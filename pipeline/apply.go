package pipeline

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
)

// Applied is what Apply did with one message.
type Applied struct {
	CompanyID string
	Table     string
	Skipped   bool // no connection, history from before it, or a skipped table
	Outcomes  []Outcome
}

// Apply runs one message through the sink's own code, synchronously and
// outside any consumer group: the company's lane lock, the outbox, the same
// operations. Replaying a range is therefore as idempotent as a redelivery.
// The sink must not be running (Run) in this process.
func (s *Sink) Apply(ctx context.Context, m kafka.Message) (Applied, error) {
	c, err := decode(m.Value)
	if err != nil {
		return Applied{}, err
	}
	a := Applied{CompanyID: c.CompanyID(), Table: c.Table}
	if a.CompanyID == "" {
		a.Skipped = true
		return a, nil
	}
	l := s.laneFor(ctx, a.CompanyID)
	release, err := s.acquire(ctx, a.CompanyID)
	if err != nil {
		return a, err
	}
	defer release()
	if err := l.resumeOnce(ctx); err != nil {
		return a, err
	}
	l.outcomes = &a.Outcomes
	defer func() { l.outcomes = nil }()
	src := source{CommitLSN: c.CommitLSN, Index: c.Index, Partition: m.Partition, Offset: m.Offset, TsMs: c.TsMs}
	if err := l.process(ctx, c, src); err != nil {
		return a, fmt.Errorf("applying change %s: %w", c.ID(), err)
	}
	a.Skipped = len(a.Outcomes) == 0 && len(Translate(c)) > 0
	return a, nil
}

// Enqueue records operations for the running sinks to perform, due now: how
// reconciliation re-sends what Align never received. key must be unique per
// request (a reconciliation run id, say); a repeated key is ignored.
func Enqueue(ctx context.Context, pool *pgxpool.Pool, companyID, key string, ops []Op) error {
	o := outbox{pool: pool}
	for _, op := range ops {
		row, err := o.record(ctx, companyID, op, key+"/"+string(op.Kind), source{}, false)
		if err != nil {
			return err
		}
		if _, err := pool.Exec(ctx, `UPDATE align_sync.outbox SET next_retry_at = now()
			WHERE id = $1 AND status = 'pending'`, row.ID); err != nil {
			return fmt.Errorf("scheduling operation %d: %w", row.ID, err)
		}
	}
	return nil
}

// EntrySyncOps are the operations that bring one Illumera time entry, as its
// row is now, into Align: create it, and submit it unless it is a draft.
func EntrySyncOps(ctx context.Context, pool *pgxpool.Pool, companyID, entryID string) ([]Op, error) {
	e, err := db{pool: pool, companyID: companyID}.entry(ctx, entryID)
	if err != nil {
		return nil, err
	}
	after := map[string]any{"id": e.ID, "company_id": companyID, "engagement_id": e.EngagementID, "project_id": e.ProjectID,
		"talent_id": e.TalentID, "work_date": e.WorkDate, "minutes": e.Minutes, "status": "draft"}
	if e.Description != nil {
		after["description"] = *e.Description
	}
	if e.AdjustmentOf != nil {
		after["adjustment_of"] = *e.AdjustmentOf
	}
	ops := Translate(Change{Table: "time_entries", Op: "c", After: after})
	if e.Status != "draft" {
		ops = append(ops, Op{Kind: EntrySubmit, EntityID: e.ID, Payload: Payload{EntryID: e.ID}, Touches: []string{entryKey(e.ID)}})
	}
	return ops, nil
}
