package capture

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/internal/testenv"
)

func TestDiagnose(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	rec := position{LSN: 0x2000, At: at}
	healthy := slotState{exists: true, walStatus: "reserved", confirmed: 0x2000}
	for _, tc := range []struct {
		name    string
		slot    slotState
		rec     position
		history bool
		want    string // reason, "" for usable
	}{
		{"at the record", healthy, rec, true, ""},
		{"behind the record: a PostgreSQL restart lost the last confirmation", slotState{exists: true, walStatus: "reserved", confirmed: 0x1000}, rec, true, ""},
		{"no record yet: a deployment from before the record", healthy, position{}, true, ""},
		{"unreserved is a warning, not yet a loss", slotState{exists: true, walStatus: "unreserved", confirmed: 0x2000}, rec, true, ""},
		{"first start: no slot, no record, empty topic", slotState{}, position{}, false, ""},
		{"invalidated", slotState{exists: true, walStatus: "lost", confirmed: 0x2000}, rec, true, SlotInvalidated},
		{"invalidated without a record", slotState{exists: true, walStatus: "lost", confirmed: 0x2000}, position{}, false, SlotInvalidated},
		{"dropped after capture confirmed from it", slotState{}, rec, false, SlotDropped},
		{"dropped, known from the topic alone", slotState{}, position{}, true, SlotDropped},
		{"past the record: re-created or consumed by another client", slotState{exists: true, walStatus: "reserved", confirmed: 0x3000}, rec, true, SlotMoved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lost := diagnose("alignsync", tc.slot, tc.rec, tc.history)
			switch {
			case tc.want == "" && lost != nil:
				t.Fatalf("diagnosed a loss: %v", lost)
			case tc.want != "" && lost == nil:
				t.Fatalf("no loss diagnosed, want %s", tc.want)
			case tc.want != "" && lost.Reason != tc.want:
				t.Fatalf("reason %s, want %s", lost.Reason, tc.want)
			}
		})
	}
}

func TestSlotLostErrorNamesTheRecovery(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 30, 42, 0, time.UTC)
	lost := diagnose("alignsync", slotState{exists: true, walStatus: "lost"}, position{LSN: 0x16B3F40, At: at}, false)
	msg := lost.Error()
	for _, want := range []string{"replication slot alignsync was invalidated", "max_slot_wal_keep_size", "after 0/16B3F40",
		"alignsync capture --recreate-slot", "alignsync resync --since 2026-11-25T09:30:00Z", "When the replication slot is lost"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	unknown := diagnose("alignsync", slotState{}, position{}, true)
	if !unknown.ResyncSince().IsZero() || !strings.Contains(unknown.Error(), "resync --since <a time before capture last streamed>") {
		t.Errorf("without a record the error must ask for a time instead of inventing one:\n%s", unknown)
	}
}

// runToError runs a capture that is expected to refuse, and returns Run's
// error with the capture and its metrics.
func runToError(t *testing.T, cfg Config) (*Capture, error) {
	t.Helper()
	c, err := New(cfg, testLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Run(ctx)
	if ctx.Err() != nil {
		t.Fatal("capture.Run kept running; want it to refuse the slot")
	}
	return c, err
}

// wantLost checks that err is a *SlotLostError for reason, shown in the
// metric and in /readyz, and returns it.
func wantLost(t *testing.T, c *Capture, err error, reason string) *SlotLostError {
	t.Helper()
	var lost *SlotLostError
	if !errors.As(err, &lost) || lost.Reason != reason {
		t.Fatalf("capture.Run = %v, want a lost slot (%s)", err, reason)
	}
	if !strings.Contains(err.Error(), "--recreate-slot") || !strings.Contains(err.Error(), "alignsync resync --since") {
		t.Errorf("the error does not name the recovery: %v", err)
	}
	for _, r := range slotLostReasons {
		want := 0.0
		if r == reason {
			want = 1
		}
		if got := testutil.ToFloat64(c.metrics.SlotLost.WithLabelValues(r)); got != want {
			t.Errorf("alignsync_capture_slot_lost{reason=%q} = %v, want %v", r, got, want)
		}
	}
	if ready := c.Ready(); ready == nil || !strings.Contains(ready.Error(), "recreate-slot") {
		t.Errorf("Ready() = %v, want the lost slot", ready)
	}
	return lost
}

// streamOnce runs capture until a change is in Kafka and its position is
// recorded, then stops it cleanly.
func streamOnce(t *testing.T, env *testenv.Env, cfg Config, name string) {
	t.Helper()
	c := startCapture(t, cfg)
	c.waitStreaming(t)
	mustExec(t, env, `INSERT INTO companies (name) VALUES ($1)`, name)
	newReader(t, env.Kafka.Brokers, testenv.CDCTopic).waitChanges(t, 30*time.Second, name, func(cs []consumed) bool {
		for _, ch := range forTable(cs, "companies") {
			if ch.Env.After["name"] == name {
				return true
			}
		}
		return false
	})
	c.stop(t)
	waitInactive(t, env, cfg.Slot)
}

// waitInactive waits for the server to end the stopped capture's
// walsender: an active slot can be neither dropped nor advanced.
func waitInactive(t *testing.T, env *testenv.Env, slot string) {
	t.Helper()
	eventually(t, 30*time.Second, "slot "+slot+" inactive", func() (bool, error) {
		var active bool
		err := env.Pool.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active)
		return err == nil && !active, err
	})
}

func recordedPosition(t *testing.T, cfg Config) position {
	t.Helper()
	store, err := newPositionStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.close()
	p, err := store.load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDroppedSlotIsRefusedThenRecreated: a slot dropped while capture was
// stopped is not silently created again; --recreate-slot gives capture a new
// one and records it, and capture streams from it.
func TestDroppedSlotIsRefusedThenRecreated(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	streamOnce(t, env, cfg, "before")
	rec := recordedPosition(t, cfg)
	if slot := confirmedFlush(t, env, cfg.Slot); !rec.known() || rec.LSN < slot {
		t.Fatalf("recorded position %s, slot at %s: the record must never be behind what PostgreSQL was told", rec.LSN, slot)
	}
	if _, err := RecreateSlot(context.Background(), cfg, testLogger(t)); !errors.Is(err, ErrSlotUsable) {
		t.Fatalf("RecreateSlot on a usable slot = %v, want ErrSlotUsable", err)
	}

	mustExec(t, env, `SELECT pg_drop_replication_slot($1)`, cfg.Slot)
	mustExec(t, env, `INSERT INTO companies (name) VALUES ('in the gap')`)
	c, err := runToError(t, cfg)
	lost := wantLost(t, c, err, SlotDropped)
	if lost.Confirmed != rec.LSN || !lost.ResyncSince().Before(rec.At) {
		t.Errorf("lost at %s, resync since %s; want the record %s of %s and a time before it", lost.Confirmed, lost.ResyncSince(), rec.LSN, rec.At)
	}
	if confirmedFlush(t, env, cfg.Slot) != 0 {
		t.Fatal("capture created the slot again after refusing it")
	}

	r, err := RecreateSlot(context.Background(), cfg, testLogger(t))
	if err != nil || r.Lost == nil || r.Lost.Reason != SlotDropped || r.Position == 0 {
		t.Fatalf("RecreateSlot = %+v, %v; want the dropped slot replaced", r, err)
	}
	if got := recordedPosition(t, cfg); got.LSN != r.Position {
		t.Fatalf("recorded %s after recreating, want the new slot's %s", got.LSN, r.Position)
	}
	streamOnce(t, env, cfg, "after")
}

// TestSlotRecreatedBehindCapturesBackIsRefused: a slot of the same name
// created by someone else while capture was stopped stands past capture's
// record; capture refuses it rather than skip what was committed before.
func TestSlotRecreatedBehindCapturesBackIsRefused(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	streamOnce(t, env, cfg, "before")
	mustExec(t, env, `SELECT pg_drop_replication_slot($1)`, cfg.Slot)
	mustExec(t, env, `INSERT INTO companies (name) VALUES ('in the gap')`)
	mustExec(t, env, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, cfg.Slot)
	c, err := runToError(t, cfg)
	lost := wantLost(t, c, err, SlotMoved)
	if slot := confirmedFlush(t, env, cfg.Slot); !strings.Contains(lost.Error(), slot.String()) {
		t.Errorf("the error does not say where the slot stands (%s): %v", slot, lost)
	}
}

// TestSlotAdvancedByAnotherClientIsRefused: changes consumed from the slot
// by someone else are changes capture will never see.
func TestSlotAdvancedByAnotherClientIsRefused(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	streamOnce(t, env, cfg, "before")
	mustExec(t, env, `INSERT INTO companies (name) VALUES ('consumed elsewhere')`)
	mustExec(t, env, `SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())`, cfg.Slot)
	c, err := runToError(t, cfg)
	wantLost(t, c, err, SlotMoved)
}

// TestMissingSlotWithCapturedHistoryIsRefused: without a record (a
// deployment from before it), changes already in the topic show that a
// missing slot is a lost one, not a first start.
func TestMissingSlotWithCapturedHistoryIsRefused(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	if err := env.CDCWriter(t).WriteMessages(context.Background(), kafka.Message{Key: []byte("c1"), Value: []byte(`{"op":"c"}`)}); err != nil {
		t.Fatal(err)
	}
	c, err := runToError(t, cfg)
	lost := wantLost(t, c, err, SlotDropped)
	if !strings.Contains(lost.Detail, "change topic") || lost.Confirmed != pglogrepl.LSN(0) {
		t.Errorf("detail %q, confirmed %s; want the topic named and no position invented", lost.Detail, lost.Confirmed)
	}
}
