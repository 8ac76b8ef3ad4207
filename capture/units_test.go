package capture

import (
	"github.com/illumera/alignsync/change"

	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
)

func TestTrackerConfirmsOnlyCompletePrefixes(t *testing.T) {
	k := newTracker(100, nil)
	mk := func(end pglogrepl.LSN, pending int64) *txn {
		x := &txn{endLSN: end}
		x.pending.Store(pending)
		k.push(x)
		return x
	}
	t1, t2, t3 := mk(200, 2), mk(300, 1), mk(400, 0)
	steps := []struct {
		do   func()
		want pglogrepl.LSN
	}{
		{func() { t3.committed.Store(true) }, 100},                                                       // later txn done, earlier not
		{func() { t2.committed.Store(true); t2.pending.Add(-1) }, 100},                                   // still blocked by t1
		{func() { t1.committed.Store(true); t1.pending.Add(-1) }, 100},                                   // t1 has one message unacked
		{func() { t1.pending.Add(-1) }, 400},                                                             // everything acked
		{func() { x := mk(350, 0); x.committed.Store(true) }, 400},                                       // never goes backwards
		{func() { x := mk(500, 1); x.committed.Store(true); k.fail(errors.New("produce failed")) }, 400}, // a failed message stays pending
	}
	for i, s := range steps {
		s.do()
		k.advance()
		if got := k.flushedLSN(); got != s.want {
			t.Fatalf("step %d: flushed %d, want %d", i, got, s.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.DatabaseURL, ok.Brokers = "postgres://x@h/db", []string{"k:9092"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if err := (Config{DatabaseURL: "postgres://x@h/db", Brokers: []string{"k:9092"}}).Validate(); err != nil {
		t.Fatalf("zero fields take defaults: %v", err)
	}
	bad := ok
	bad.DatabaseURL, bad.Brokers, bad.Slot = "", nil, "Bad-Slot"
	bad.StatusInterval, bad.MaxMessageBytes = -time.Second, 10
	err := bad.Validate()
	for _, want := range []string{"database URL is required", "broker", `slot "Bad-Slot"`, "status interval", "max message bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cret@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=s3cret":             "postgres://u@h/db?password=xxxxx",
		"host=h user=u password=s3cret dbname=db":       "host=h user=u password=xxxxx dbname=db",
		"host=h password='s 3cret' dbname=db":           "host=h password=xxxxx dbname=db",
	} {
		if got := RedactURL(in); got != want || strings.Contains(got, "3cret") {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// The change's identity comes from the change package: capture's envelopes
// carry what it is built from.
func TestEnvelopeIdentity(t *testing.T) {
	e := change.Envelope{Source: change.Source{CommitLSN: 23852960}, Index: 3}
	if got := e.ID().String(); got != "23852960/3" {
		t.Fatalf("ID() = %q", got)
	}
}
