package capture

import (
	"context"
	"testing"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

// TestUnchangedToastIsNotNulled: updating another column of a row with a
// large out-of-line value leaves the value out of "after" and names it,
// never emitting it as null.
func TestUnchangedToastIsNotNulled(t *testing.T) {
	env := testenv.New(t)
	mustExec(t, env, `CREATE TABLE capture_toast (id int PRIMARY KEY, company_id uuid NOT NULL, big text, n int)`)
	mustExec(t, env, `ALTER TABLE capture_toast ALTER COLUMN big SET STORAGE EXTERNAL`)
	mustExec(t, env, `ALTER TABLE capture_toast REPLICA IDENTITY FULL`)
	startCapture(t, testConfig(t, env, "capture_toast")).waitStreaming(t)

	mustExec(t, env, `INSERT INTO capture_toast SELECT 1, $1, string_agg(md5(i::text), ''), 0 FROM generate_series(1, 1000) i`, company)
	mustExec(t, env, `UPDATE capture_toast SET n = 1 WHERE id = 1`)
	var big string
	if err := env.Pool.QueryRow(context.Background(), `SELECT big FROM capture_toast WHERE id = 1`).Scan(&big); err != nil {
		t.Fatal(err)
	}

	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	got := forTable(r.waitChanges(t, 30*time.Second, "2 changes", atLeast("capture_toast", 2)), "capture_toast")
	if v := got[0].Env.After["big"]; v != big {
		t.Fatalf("insert: big has %d characters, want %d", len(asString(v)), len(big))
	}
	upd := got[1].Env
	if v, present := upd.After["big"]; present {
		t.Fatalf("update: after.big present (%.20v...), want it left out", v)
	}
	if len(upd.UnchangedToast) != 1 || upd.UnchangedToast[0] != "big" {
		t.Fatalf("update: unchangedToast = %v, want [big]", upd.UnchangedToast)
	}
	if upd.After["n"] == nil || upd.Before["big"] != big {
		t.Fatalf("update: after.n = %v, before.big has %d characters (want %d)", upd.After["n"], len(asString(upd.Before["big"])), len(big))
	}
}

func asString(v any) string { s, _ := v.(string); return s }

// TestAddColumnMidStream: after ALTER TABLE ADD COLUMN the relation is
// rebuilt and later events carry the new column; earlier ones do not.
func TestAddColumnMidStream(t *testing.T) {
	env := testenv.New(t)
	mustExec(t, env, `CREATE TABLE capture_alter (id int PRIMARY KEY, company_id uuid NOT NULL, v text)`)
	mustExec(t, env, `ALTER TABLE capture_alter REPLICA IDENTITY FULL`)
	startCapture(t, testConfig(t, env, "capture_alter")).waitStreaming(t)

	mustExec(t, env, `INSERT INTO capture_alter VALUES (1, $1, 'a')`, company)
	mustExec(t, env, `ALTER TABLE capture_alter ADD COLUMN extra text DEFAULT 'dflt'`)
	mustExec(t, env, `INSERT INTO capture_alter VALUES (2, $1, 'b', 'x')`, company)
	mustExec(t, env, `UPDATE capture_alter SET v = 'a2' WHERE id = 1`)

	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	got := forTable(r.waitChanges(t, 30*time.Second, "3 changes", atLeast("capture_alter", 3)), "capture_alter")
	if _, present := got[0].Env.After["extra"]; present {
		t.Errorf("insert before ALTER carries extra: %v", got[0].Env.After)
	}
	if got[1].Env.After["extra"] != "x" {
		t.Errorf("insert after ALTER: extra = %v, want x", got[1].Env.After["extra"])
	}
	if got[2].Env.After["extra"] != "dflt" || got[2].Env.Before["extra"] != "dflt" || got[2].Env.After["v"] != "a2" {
		t.Errorf("update after ALTER: before %v, after %v", got[2].Env.Before, got[2].Env.After)
	}
}
