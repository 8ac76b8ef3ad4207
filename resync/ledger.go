package resync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	pledger "github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
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

func (l pipelineLedger) lastRecorded(ctx context.Context, companyID, table, id string) (map[string]any, error) {
	return pledger.New(l.pool).LastRecorded(ctx, companyID, translate.TableEntity(table), id)
}

func (l pipelineLedger) enqueue(ctx context.Context, companyID, key string, c change, dryRun bool) (int, error) {
	ops := translate.Translate(translate.Change{Table: c.table, Op: c.op, Before: c.before, After: c.after})
	if len(ops) == 0 || dryRun {
		return len(ops), nil
	}
	if err := pledger.Enqueue(ctx, l.pool, companyID, key, ops); err != nil {
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
