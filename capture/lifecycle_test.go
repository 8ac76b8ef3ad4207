package capture

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/illumera/alignsync/internal/testenv"
)

// TestReconnectAfterLostConnection: when the server ends the replication
// connection, capture reconnects from the slot's position, rebuilds its
// relation cache and loses nothing.
func TestReconnectAfterLostConnection(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	c := startCapture(t, cfg)
	c.waitStreaming(t)
	for i := 0; i < 5; i++ {
		mustExec(t, env, `INSERT INTO companies (name) VALUES ($1)`, fmt.Sprintf("before %d", i))
	}
	mustExec(t, env, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1`, cfg.Slot)
	for i := 0; i < 5; i++ {
		mustExec(t, env, `INSERT INTO companies (name) VALUES ($1)`, fmt.Sprintf("after %d", i))
	}
	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	// The reconnect may send again what was produced but not yet confirmed:
	// wait for every row, not for a count of messages.
	names := map[string]bool{}
	r.waitChanges(t, 30*time.Second, "the 10 rows", func(cs []consumed) bool {
		clear(names)
		for _, ch := range forTable(cs, "companies") {
			names[ch.Env.After["name"].(string)] = true
		}
		return len(names) == 10
	})
	if n := gaugeValue(t, c.reg, "alignsync_capture_reconnects_total"); n < 1 {
		t.Fatalf("reconnects = %v, want at least 1", n)
	}
}

// TestCleanStopConfirmsWhatKafkaHolds: a stop flushes Kafka and sends a last
// standby status, even when the periodic status is far away.
func TestCleanStopConfirmsWhatKafkaHolds(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	cfg.StatusInterval = time.Hour
	cfg.HeartbeatInterval = time.Hour
	c := startCapture(t, cfg)
	c.waitStreaming(t)
	start := confirmedFlush(t, env, cfg.Slot)
	mustExec(t, env, `INSERT INTO companies (name) SELECT 'bulk ' || i FROM generate_series(1, 500) i`)

	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	got := r.waitChanges(t, 30*time.Second, "500 changes", atLeast("companies", 500))
	commit := pglogrepl.LSN(got[0].Env.Source.CommitLSN)
	if now := confirmedFlush(t, env, cfg.Slot); now != start {
		t.Fatalf("confirmed moved to %s before the stop with a 1h status interval", now)
	}
	// The changes reach Kafka before capture has read their commit; stop only
	// once the transaction is acknowledged, as a clean stop after it would.
	eventually(t, 30*time.Second, "the transaction acknowledged", func() (bool, error) {
		return gaugeValue(t, c.reg, "alignsync_capture_transactions_total") >= 1, nil
	})
	c.stop(t)
	// The walsender applies the last status when it reads it, which may be
	// just after capture has closed the connection.
	eventually(t, 10*time.Second, "the slot to confirm past the commit after a clean stop", func() (bool, error) {
		now := confirmedFlush(t, env, cfg.Slot)
		return now > commit, fmt.Errorf("confirmed_flush_lsn = %s, want past the commit at %s", now, commit)
	})
}

// TestMetrics: the series exist, count what happened, and pass the
// Prometheus naming lint.
func TestMetrics(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	c := startCapture(t, cfg)
	c.waitStreaming(t)
	mustExec(t, env, `INSERT INTO companies (name) VALUES ('m')`)
	mustExec(t, env, `UPDATE companies SET name = 'n'`)
	eventually(t, 30*time.Second, "two acknowledged transactions", func() (bool, error) {
		return gaugeValue(t, c.reg, "alignsync_capture_transactions_total") >= 2, nil
	})
	eventually(t, 30*time.Second, "slot gauges", func() (bool, error) {
		return gaugeValue(t, c.reg, "alignsync_capture_slot_retained_wal_bytes") > 0 && gaugeValue(t, c.reg, "alignsync_capture_confirmed_lsn") > 0, nil
	})
	problems, err := testutil.GatherAndLint(c.reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	want := `
# HELP alignsync_capture_events_total Row changes decoded from the replication stream, by table and operation (c, u, d, t).
# TYPE alignsync_capture_events_total counter
alignsync_capture_events_total{op="c",table="companies"} 1
alignsync_capture_events_total{op="d",table="companies"} 0
alignsync_capture_events_total{op="t",table="companies"} 0
alignsync_capture_events_total{op="u",table="companies"} 1
`
	if err := testutil.GatherAndCompare(c.reg, strings.NewReader(want), "alignsync_capture_events_total"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alignsync_capture_commit_to_ack_seconds", "alignsync_capture_last_commit_timestamp_seconds", "alignsync_capture_active"} {
		if gaugeValue(t, c.reg, name) == 0 {
			t.Errorf("%s is zero", name)
		}
	}
}

// TestCheck: the report says what is missing and what to run, then that all
// is well once capture has set things up.
func TestCheck(t *testing.T) {
	env := testenv.New(t)
	mustExec(t, env, `CREATE TABLE capture_plain (id int PRIMARY KEY, v text)`)
	cfg := testConfig(t, env, "capture_plain", "capture_nope")
	ctx := context.Background()

	report, err := Check(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := report.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`CREATE PUBLICATION "alignsync" FOR TABLE "public"."companies"`,
		`ALTER TABLE "public"."capture_plain" REPLICA IDENTITY FULL;`,
		`table "capture_nope" does not exist`,
		"slot " + cfg.Slot + " does not exist: capture creates it on a first start",
		"alignsync capture --recreate-slot",
		"NOT ready",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
	if report.OK() || report.WALLevel != "logical" || !report.Replication {
		t.Errorf("report: %+v", report)
	}

	mustExec(t, env, `ALTER TABLE capture_plain REPLICA IDENTITY FULL`)
	cfg.Tables = append(DefaultTables[:len(DefaultTables):len(DefaultTables)], "capture_plain")
	startCapture(t, cfg).waitStreaming(t)
	report, err = Check(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	text.Reset()
	_ = report.WriteText(&text)
	if !report.OK() || !report.Slot.Exists || !report.PublicationExists || len(report.Tables) != 7 {
		t.Fatalf("after setup the report is not OK:\n%s", text.String())
	}
	for _, tr := range report.Tables {
		if !tr.Published || tr.ReplicaIdentity != "full" {
			t.Errorf("table %+v", tr)
		}
	}
	if !strings.Contains(text.String(), "public.capture_plain  yes        full              id (primary key)") {
		t.Errorf("table line missing:\n%s", text.String())
	}
}

// TestLeastPrivilege: a role with only LOGIN and REPLICATION, with the
// publication created by the tables' owner, captures (heartbeat, lock and
// slot creation included), as doc.go documents.
func TestLeastPrivilege(t *testing.T) {
	env := testenv.New(t)
	role := "capture_" + dbName(env.DatabaseURL)
	mustExec(t, env, fmt.Sprintf(`CREATE ROLE %s LOGIN REPLICATION`, role))
	t.Cleanup(func() { _, _ = env.Pool.Exec(context.Background(), `DROP ROLE IF EXISTS `+role) })
	mustExec(t, env, `CREATE PUBLICATION alignsync FOR TABLE companies, talent, projects, project_roles, engagements, time_entries`)

	cfg := testConfig(t, env)
	cfg.DatabaseURL = strings.Replace(env.DatabaseURL, "postgres://postgres@", "postgres://"+role+"@", 1)
	report, err := Check(context.Background(), cfg)
	if err != nil || !report.OK() || report.Role != role {
		t.Fatalf("check as %s: %v %+v", role, err, report)
	}
	c := startCapture(t, cfg)
	c.waitStreaming(t)
	mustExec(t, env, `INSERT INTO companies (name) VALUES ('least privilege')`)
	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	r.waitChanges(t, 30*time.Second, "the change", atLeast("companies", 1))
	eventually(t, 30*time.Second, "a heartbeat as the unprivileged role", func() (bool, error) {
		return gaugeValue(t, c.reg, "alignsync_capture_heartbeats_total") > 0, nil
	})
}
