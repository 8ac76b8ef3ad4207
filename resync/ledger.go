package resync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/pipeline"
)

// ledger is all resync needs from the pipeline: what it last recorded for an
// entity, and an idempotent way to record the operations of a change.
type ledger interface {
	// lastRecorded is the source row the ledger's latest operation on the
	// entity carries, or nil when it has none.
	lastRecorded(ctx context.Context, companyID, table, id string) (map[string]any, error)
	// enqueue records the operations c calls for, due now, under key (a key
	// recorded before is left alone), and returns how many there are.
	enqueue(ctx context.Context, companyID, key string, c change, dryRun bool) (int, error)
}

// pipelineLedger is the ledger of package pipeline (align_sync.outbox).
type pipelineLedger struct{ pool *pgxpool.Pool }

var _ ledger = pipelineLedger{}

// entityTypes are the outbox entity types whose operations carry a table's
// row (the pipeline's own mapping of a change to the entity it compares).
var entityTypes = map[string]string{"projects": "project", "engagements": "project_member", "time_entries": "time_entry"}

func (l pipelineLedger) lastRecorded(ctx context.Context, companyID, table, id string) (map[string]any, error) {
	var raw []byte
	err := l.pool.QueryRow(ctx, `SELECT payload->'payload'->'row' FROM align_sync.outbox
		WHERE company_id = $1 AND entity_type = $2 AND entity_id = $3 AND payload->'payload'->'row' IS NOT NULL
		ORDER BY id DESC LIMIT 1`, companyID, entityTypes[table], id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading what the ledger last recorded for %s %s: %w", table, id, err)
	}
	return decodeRow(raw)
}

func (l pipelineLedger) enqueue(ctx context.Context, companyID, key string, c change, dryRun bool) (int, error) {
	ops := pipeline.Translate(pipeline.Change{Table: c.table, Op: c.op, Before: c.before, After: c.after})
	if len(ops) == 0 || dryRun {
		return len(ops), nil
	}
	if err := pipeline.Enqueue(ctx, l.pool, companyID, key, ops); err != nil {
		return 0, fmt.Errorf("enqueueing %s: %w", key, err)
	}
	return len(ops), nil
}

// decodeRow keeps numbers as json.Number, as the sink decodes captured rows,
// so the translation compares both the same way.
func decodeRow(raw []byte) (map[string]any, error) {
	var row map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&row); err != nil {
		return nil, fmt.Errorf("decoding row %s: %w", raw, err)
	}
	return row, nil
}
