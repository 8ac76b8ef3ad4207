package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/pipeline/translate"
)

// Entry is an operation to record: the company's queue, its idempotency key
// and where its change came from.
type Entry struct {
	CompanyID string
	Key       string
	Op        translate.Op
	Source    Source
}

// Recorded says what Record did with a batch.
type Recorded struct {
	// New holds the keys recorded now; the others were recorded before (a
	// redelivery or a replay) and were left alone.
	New map[string]bool
	// Companies are those with newly recorded operations, sorted.
	Companies []string
}

// Record writes a batch of operations as pending, in the order given, in one
// transaction: a key already in the outbox is left alone, whatever its
// status. Each company with new operations is marked ready and its work
// version bumped, so an executor about to release it looks again.
func (l *Ledger) Record(ctx context.Context, entries []Entry) (Recorded, error) {
	res := Recorded{New: map[string]bool{}}
	if len(entries) == 0 {
		return res, nil
	}
	cols, err := columns(entries)
	if err != nil {
		return res, err
	}
	err = pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, payload, idempotency_key, touches,
			       commit_lsn, change_index, kafka_partition, kafka_offset, source_ts)
			SELECT company_id, entity_type, entity_id, op, payload, key,
			       ARRAY(SELECT jsonb_array_elements_text(CASE jsonb_typeof(payload->'touches')
			                                              WHEN 'array' THEN payload->'touches' ELSE '[]' END)),
			       lsn::pg_lsn, idx, part, off, ts
			  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[],
			              $7::text[], $8::int[], $9::int[], $10::bigint[], $11::timestamptz[])
			       WITH ORDINALITY AS t(company_id, entity_type, entity_id, op, payload, key, lsn, idx, part, off, ts, n)
			 ORDER BY n
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING idempotency_key, company_id::text`,
			cols.company, cols.entityType, cols.entityID, cols.op, cols.payload, cols.key,
			cols.lsn, cols.index, cols.partition, cols.offset, cols.ts)
		if err != nil {
			return err
		}
		companies := map[string]bool{}
		for rows.Next() {
			var key, company string
			if err := rows.Scan(&key, &company); err != nil {
				return err
			}
			res.New[key] = true
			companies[company] = true
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for c := range companies {
			res.Companies = append(res.Companies, c)
		}
		slices.Sort(res.Companies) // a fixed lock order: two intakes never deadlock
		return l.markReady(ctx, tx, res.Companies)
	})
	if err != nil {
		return Recorded{New: map[string]bool{}}, fmt.Errorf("recording %d operations: %w", len(entries), err)
	}
	return res, nil
}

// WorkChannel is the PostgreSQL notification channel on which Record
// announces, at commit, the companies it recorded new work for: each
// notification is the ledger's origin ("" unless made by NewOrigin), a
// space, and a comma-separated list of company ids. Every sink instance
// listens, so the one holding a company's lease hears of work another
// instance recorded.
const WorkChannel = "alignsync_work"

// notifyChunk keeps a notification's payload under PostgreSQL's 8,000 bytes
// (a company id and its comma are 37; the origin is an instance name).
const notifyChunk = 200

// ParseWork reads a WorkChannel notification: who recorded the work, and
// for which companies.
func ParseWork(payload string) (origin string, companies []string) {
	origin, list, _ := strings.Cut(payload, " ")
	return origin, strings.Split(list, ",")
}

// markReady marks companies as having work from now, bumping their version,
// and announces them on WorkChannel when the transaction commits. A
// listener that stops reading (a paused process whose connection stays
// open) holds PostgreSQL's notification queue, and a full queue would fail
// the commit: past half full, nothing is announced, and the instances fall
// back to their idle holds ending (PostgreSQL's log names the backend that
// lags).
func (l *Ledger) markReady(ctx context.Context, tx pgx.Tx, companies []string) error {
	if len(companies) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		WITH marked AS (
		     INSERT INTO align_sync.lanes (company_id, ready_at, work_version)
		     SELECT c, now(), 1 FROM unnest($1::uuid[]) AS c
		     ON CONFLICT (company_id) DO UPDATE
		        SET ready_at = now(), work_version = align_sync.lanes.work_version + 1
		     RETURNING company_id)
		SELECT pg_notify($2, $4 || ' ' || string_agg(company_id::text, ','))
		  FROM (SELECT company_id, (row_number() OVER (ORDER BY company_id) - 1) / $3 AS chunk FROM marked) m
		 WHERE pg_notification_queue_usage() < 0.5
		 GROUP BY chunk`, companies, WorkChannel, notifyChunk, l.origin)
	return wrap(err, "marking %d companies ready", len(companies))
}

type recordColumns struct {
	company, entityType, entityID, op, key, lsn []string
	payload                                     [][]byte
	index, partition                            []int32
	offset                                      []int64
	ts                                          []*time.Time
}

func columns(entries []Entry) (recordColumns, error) {
	var c recordColumns
	for _, e := range entries {
		payload, err := json.Marshal(stored(e.Op, e.Source.TsMs))
		if err != nil {
			return c, fmt.Errorf("encoding operation %s: %w", e.Key, err)
		}
		var ts *time.Time
		if e.Source.TsMs > 0 {
			t := time.UnixMilli(e.Source.TsMs)
			ts = &t
		}
		c.company = append(c.company, e.CompanyID)
		c.entityType = append(c.entityType, e.Op.Kind.EntityType())
		c.entityID = append(c.entityID, e.Op.EntityID)
		c.op = append(c.op, string(e.Op.Kind))
		c.payload = append(c.payload, payload)
		c.key = append(c.key, e.Key)
		c.lsn = append(c.lsn, lsnText(e.Source.CommitLSN))
		c.index = append(c.index, int32(e.Source.Index))
		c.partition = append(c.partition, int32(e.Source.Partition))
		c.offset = append(c.offset, e.Source.Offset)
		c.ts = append(c.ts, ts)
	}
	return c, nil
}

// LastRecorded returns the source row of the last operation recorded for an
// entity that carries one, to stand in for the old values a change arrived
// without: intake records in commit order, so that is the row as it was
// before this change. Numbers decode as json.Number, as captured rows do.
func (l *Ledger) LastRecorded(ctx context.Context, companyID, entityType, entityID string) (map[string]any, error) {
	var payload []byte
	err := l.pool.QueryRow(ctx, `SELECT payload FROM align_sync.outbox
		WHERE company_id = $1 AND entity_type = $2 AND entity_id = $3 AND payload->'payload'->'row' IS NOT NULL
		ORDER BY id DESC LIMIT 1`, companyID, entityType, entityID).Scan(&payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading last recorded %s %s: %w", entityType, entityID, err)
	}
	op, err := decodeOp(payload)
	return op.Payload.Row, err
}

// Enqueue records operations outside the change stream, for the running
// sinks to perform: how reconciliation re-sends what Align never received.
// key must be unique per request (a reconciliation run id, say); a repeated
// key records nothing.
func Enqueue(ctx context.Context, pool *pgxpool.Pool, companyID, key string, ops []translate.Op) error {
	entries := make([]Entry, 0, len(ops))
	for _, op := range ops {
		entries = append(entries, Entry{CompanyID: companyID, Key: key + "/" + string(op.Kind), Op: op})
	}
	_, err := New(pool).Record(ctx, entries)
	return err
}
