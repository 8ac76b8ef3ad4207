package pipeline

import (
	"context"
	"fmt"
	"github.com/illumera/alignsync/connect/credentials"

	"github.com/google/uuid"
	"github.com/jackc/pglogrepl"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/change"
	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
)

// decode turns a message value into a Change; numbers stay exact.
func decode(value []byte) (translate.Change, error) {
	e, err := change.Decode(value)
	if err != nil {
		return translate.Change{}, err
	}
	return translate.FromEnvelope(e), nil
}

// batchResult is what one batch of messages recorded: for each message in
// order, its company ("" when it has none) and its operations with their
// keys.
type batchResult struct {
	companies []string
	ops       [][]translate.Op
	keys      [][]string
	recorded  ledger.Recorded
}

// intakeBatch decodes, translates and records a batch of messages in one
// transaction. An undecodable message goes to bad, which must set it aside
// durably or fail the batch.
func (s *Sink) intakeBatch(ctx context.Context, msgs []kafka.Message,
	bad func(context.Context, kafka.Message, error) error,
) (batchResult, error) {
	n := len(msgs)
	res := batchResult{companies: make([]string, n), ops: make([][]translate.Op, n), keys: make([][]string, n)}
	changes := make([]translate.Change, len(msgs))
	var companies []string
	for i, m := range msgs {
		c, err := decode(m.Value)
		if err != nil {
			if err := bad(ctx, m, err); err != nil {
				return res, err
			}
			continue
		}
		company, ok := canonicalCompany(c.CompanyID())
		if !ok {
			s.metrics.messages.WithLabelValues("no_company").Inc()
			continue
		}
		s.metrics.messages.WithLabelValues("recorded").Inc()
		changes[i], res.companies[i] = c, company
		companies = append(companies, company)
	}
	conns, err := s.connStates(ctx, companies)
	if err != nil {
		return res, err
	}
	seen := map[string]map[string]any{} // table:id → the row after this batch's last change of it
	var entries []ledger.Entry
	for i, m := range msgs {
		if res.companies[i] == "" {
			continue
		}
		ops, err := s.operations(ctx, changes[i], res.companies[i], conns[res.companies[i]], seen)
		if err != nil {
			return res, err
		}
		src := ledger.Source{CommitLSN: changes[i].CommitLSN, Index: changes[i].Index, Partition: m.Partition,
			Offset: m.Offset, TsMs: changes[i].TsMs}
		res.ops[i] = ops
		for _, op := range ops {
			key := op.IdempotencyKey(changes[i])
			res.keys[i] = append(res.keys[i], key)
			entries = append(entries, ledger.Entry{CompanyID: res.companies[i], Key: key, Op: op, Source: src})
		}
	}
	if res.recorded, err = s.ledger.Record(ctx, entries); err != nil {
		return res, err
	}
	for _, e := range entries {
		if !res.recorded.New[e.Key] {
			s.metrics.operations.WithLabelValues(e.Op.Kind.EntityType(), string(e.Op.Kind), "duplicate").Inc()
		}
	}
	s.sched.wake(res.recorded.Companies)
	return res, nil
}

// operations translates one change of a company, or gives none when the
// company was not connected at its commit or its table is skipped.
func (s *Sink) operations(ctx context.Context, c translate.Change, company string, conn connState,
	seen map[string]map[string]any,
) ([]translate.Op, error) {
	id := c.Table + ":" + c.EntityID()
	before := seen[id]
	seen[id] = c.After
	switch {
	case !conn.syncing() || c.CommitLSN < conn.connectedLSN:
		s.metrics.skipped(c.Table, "not_connected")
		return nil, nil // no connection, or history from before it: no backfill
	case s.skip[c.Table]:
		s.metrics.skipped(c.Table, "skipped_table")
		return nil, nil
	}
	if c.Op == change.OpUpdate && c.Before == nil {
		if before == nil {
			var err error
			if before, err = s.ledger.LastRecorded(ctx, company, translate.TableEntity(c.Table), c.EntityID()); err != nil {
				return nil, err
			}
		}
		c.Before = before
	}
	c = c.Filled()
	seen[id] = c.After // with its unchanged large values, for the next change of the row
	return translate.Translate(c), nil
}

func canonicalCompany(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// connState is a company's Align connection as intake sees it.
type connState struct {
	status       string // connected, error, disconnected, or "" when none
	connectedLSN uint64
}

// syncing: a connection in error still records its operations (they park,
// and run after a reconnect and Retry Failed); without a connection, or
// after a disconnect, changes are skipped.
func (c connState) syncing() bool {
	return c.status == credentials.StatusConnected || c.status == credentials.StatusError
}

// connStates reads the connections of a batch's companies. Every change in
// the batch was committed before this read, so the state it gives already
// reflects each connect and disconnect committed before those changes.
func (s *Sink) connStates(ctx context.Context, companies []string) (map[string]connState, error) {
	out := map[string]connState{}
	if len(companies) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT company_id::text, status, coalesce(connected_lsn, '0/0')::text
		FROM align_sync.connections WHERE company_id = ANY($1::uuid[])`, companies)
	if err != nil {
		return nil, fmt.Errorf("reading connections: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var company, status, lsn string
		if err := rows.Scan(&company, &status, &lsn); err != nil {
			return nil, fmt.Errorf("reading connections: %w", err)
		}
		connected, err := pglogrepl.ParseLSN(lsn)
		if err != nil {
			return nil, fmt.Errorf("parsing connected_lsn %q of company %s: %w", lsn, company, err)
		}
		out[company] = connState{status: status, connectedLSN: uint64(connected)}
	}
	return out, rows.Err()
}
