package capture

import (
	"github.com/illumera/alignsync/change"

	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

const typesTable = `CREATE TABLE capture_types (
	id         bigint PRIMARY KEY,
	company_id uuid NOT NULL,
	i2         smallint,
	i4         integer,
	i8         bigint,
	num        numeric(30, 6),
	f8         double precision,
	flag       boolean,
	body       text,
	label      varchar(40),
	ref        uuid,
	day        date,
	at         timestamptz,
	local_at   timestamp,
	doc        jsonb,
	ints       integer[],
	tags       text[],
	missing    text
);
ALTER TABLE capture_types REPLICA IDENTITY FULL`

const (
	company = "6f1c1f3e-0000-4000-8000-000000000001"
	refID   = "0e3c2a8f-1111-4222-8333-444455556666"
)

// insertedRow is capture_types' first row as the envelope must carry it.
var insertedRow = map[string]any{
	"id": json.Number("1"), "company_id": company,
	"i2": json.Number("-7"), "i4": json.Number("2147483647"), "i8": json.Number("9223372036854775807"),
	"num": "12345678901234567890.123456", "f8": json.Number("3.25"), "flag": true,
	"body": "hello \"world\"\n✓", "label": "short label", "ref": refID,
	"day": "2024-02-29", "at": "2024-03-01T12:34:56.789Z", "local_at": "2024-03-01T12:00:00",
	"doc":  map[string]any{"a": []any{json.Number("1"), json.Number("2")}, "b": map[string]any{"c": nil}},
	"ints": []any{json.Number("1"), nil, json.Number("3")}, "tags": []any{"x y", "z,\"q\""},
	"missing": nil,
}

func TestRoundTripEveryColumnType(t *testing.T) {
	env := testenv.New(t)
	mustExec(t, env, typesTable)
	cfg := testConfig(t, env, "capture_types")
	startCapture(t, cfg).waitStreaming(t)

	mustExec(t, env, `INSERT INTO capture_types VALUES (1, $1, -7, 2147483647, 9223372036854775807,
		12345678901234567890.123456, 3.25, true, E'hello "world"\n✓', 'short label', $2, '2024-02-29',
		'2024-03-01 13:34:56.789+01', '2024-03-01 12:00:00', '{"b": {"c": null}, "a": [1, 2]}',
		'{1,NULL,3}', '{"x y","z,\"q\""}', NULL)`, company, refID)
	mustExec(t, env, `UPDATE capture_types SET i4 = 5, flag = false, body = 'changed', missing = 'now set', doc = '[]' WHERE id = 1`)
	mustExec(t, env, `DELETE FROM capture_types WHERE id = 1`)
	mustExec(t, env, `TRUNCATE capture_types`)

	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	got := forTable(r.waitChanges(t, 30*time.Second, "4 changes", atLeast("capture_types", 4)), "capture_types")
	if len(got) != 4 {
		t.Fatalf("got %d changes, want 4: %+v", len(got), got)
	}
	// The truncate is keyed by table name, so it may sit on another partition.
	sort.Slice(got, func(i, j int) bool { return idLess(got[i].Env, got[j].Env) })
	updated := copyRow(insertedRow, map[string]any{"i4": json.Number("5"), "flag": false, "body": "changed", "missing": "now set", "doc": []any{}})
	checkChange(t, got[0], change.OpCreate, nil, insertedRow, company)
	checkChange(t, got[1], change.OpUpdate, insertedRow, updated, company)
	checkChange(t, got[2], change.OpDelete, updated, nil, company)
	checkChange(t, got[3], change.OpTruncate, nil, nil, "capture_types")
	checkSource(t, got, dbName(env.DatabaseURL))
}

func copyRow(base, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range changes {
		out[k] = v
	}
	return out
}

// checkChange compares an envelope field by field.
func checkChange(t *testing.T, c consumed, op string, before, after map[string]any, key string) {
	t.Helper()
	if c.Env.Op != op {
		t.Errorf("op = %q, want %q", c.Env.Op, op)
	}
	if c.Key != key {
		t.Errorf("%s: key = %q, want %q", op, c.Key, key)
	}
	compareRow(t, op+" before", c.Env.Before, before)
	compareRow(t, op+" after", c.Env.After, after)
	if len(c.Env.UnchangedToast) != 0 {
		t.Errorf("%s: unchangedToast = %v, want none", op, c.Env.UnchangedToast)
	}
}

func compareRow(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: column %s missing", what, k)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: column %s = %#v (%T), want %#v (%T)", what, k, g, g, w, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected column %s", what, k)
		}
	}
}

// checkSource checks the source block, positions, headers and identities.
func checkSource(t *testing.T, cs []consumed, db string) {
	t.Helper()
	var prevCommit uint64
	for i, c := range cs {
		s := c.Env.Source
		if s.Connector != change.Connector || s.DB != db || s.Schema != "public" || s.Table != "capture_types" {
			t.Errorf("change %d: source = %+v", i, s)
		}
		if s.LSN == 0 || s.CommitLSN == 0 || s.TxID == 0 || s.LSN > s.CommitLSN {
			t.Errorf("change %d: positions lsn=%d commitLsn=%d txId=%d", i, s.LSN, s.CommitLSN, s.TxID)
		}
		if s.CommitLSN <= prevCommit {
			t.Errorf("change %d: commitLsn %d not after %d", i, s.CommitLSN, prevCommit)
		}
		prevCommit = s.CommitLSN
		if age := time.Since(time.UnixMilli(s.TsMs)); age < 0 || age > time.Hour || c.Env.TsMs < s.TsMs-1000 {
			t.Errorf("change %d: source.ts_ms %d, ts_ms %d", i, s.TsMs, c.Env.TsMs)
		}
		if c.Env.Index != 0 {
			t.Errorf("change %d: index %d, want 0 (one change per transaction)", i, c.Env.Index)
		}
		wantHeaders := map[string]string{change.HeaderTable: "capture_types", change.HeaderCommitLSN: strconv.FormatUint(s.CommitLSN, 10), change.HeaderIndex: "0"}
		if !reflect.DeepEqual(c.Headers, wantHeaders) {
			t.Errorf("change %d: headers %v, want %v", i, c.Headers, wantHeaders)
		}
		if id := c.Env.ID().String(); id != strconv.FormatUint(s.CommitLSN, 10)+"/0" {
			t.Errorf("change %d: ID() = %q", i, id)
		}
	}
}
