package capture

import (
	"github.com/illumera/alignsync/change"

	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/illumera/alignsync/internal/testenv"
)

// TestUnencodableChangeGoesToDLQ: a change Kafka would refuse goes to the
// dead-letter topic with the error in a header, keeps its identity, and
// does not stop the stream or the slot.
func TestUnencodableChangeGoesToDLQ(t *testing.T) {
	env := testenv.New(t)
	mustExec(t, env, `CREATE TABLE capture_big (id int PRIMARY KEY, company_id uuid NOT NULL, body text)`)
	cfg := testConfig(t, env, "capture_big")
	cfg.MaxMessageBytes = 4096
	startCapture(t, cfg).waitStreaming(t)

	mustExec(t, env, `INSERT INTO capture_big VALUES (1, $1, repeat('x', 10000))`, company)
	mustExec(t, env, `INSERT INTO capture_big VALUES (2, $1, 'small')`, company)
	after := currentLSN(t, env)

	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic, testenv.DLQTopic)
	got := r.waitChanges(t, 30*time.Second, "one DLQ and one CDC message", func(cs []consumed) bool {
		return len(cs) >= 2
	})
	var dlq, cdc *consumed
	for i := range got {
		switch got[i].Topic {
		case testenv.DLQTopic:
			dlq = &got[i]
		case testenv.CDCTopic:
			cdc = &got[i]
		}
	}
	if dlq == nil || cdc == nil {
		t.Fatalf("want one message on each topic, got %+v", got)
	}
	if !strings.Contains(dlq.Headers[change.HeaderError], "exceeds the 4096-byte message limit") || dlq.Key != company || dlq.Headers[change.HeaderTable] != "capture_big" {
		t.Errorf("DLQ message: key %q, headers %v", dlq.Key, dlq.Headers)
	}
	if cdc.Env.After["id"].(interface{ String() string }).String() != "2" {
		t.Errorf("CDC message: %+v", cdc.Env)
	}
	eventually(t, 30*time.Second, "slot to confirm past the dead-lettered change", func() (bool, error) {
		return confirmedFlush(t, env, cfg.Slot) >= after, nil
	})
}

// TestKafkaUnavailable: while Kafka refuses produces nothing new is
// confirmed; when it is back every change arrives.
func TestKafkaUnavailable(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	c := startCapture(t, cfg)
	c.waitStreaming(t)
	fault := env.Kafka.Cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: testenv.CDCTopic, Err: kerr.NotEnoughReplicas, Count: -1})

	for i := 0; i < 20; i++ {
		mustExec(t, env, `INSERT INTO companies (name) VALUES ('while kafka is down')`)
	}
	eventually(t, 60*time.Second, "produce errors and a reconnect", func() (bool, error) {
		return gaugeValue(t, c.reg, "alignsync_capture_produce_errors_total") > 0 &&
			gaugeValue(t, c.reg, "alignsync_capture_reconnects_total") > 0, nil
	})
	confirmedDuringOutage := confirmedFlush(t, env, cfg.Slot)
	fault.Remove()

	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	got := forTable(r.waitChanges(t, 60*time.Second, "20 changes after Kafka is back", atLeast("companies", 20)), "companies")
	first := got[0].Env.Source.CommitLSN
	for _, ch := range got {
		first = min(first, ch.Env.Source.CommitLSN)
	}
	if uint64(confirmedDuringOutage) > first {
		t.Fatalf("slot confirmed %s during the outage, past the first unproduced commit %s", confirmedDuringOutage, pglogrepl.LSN(first))
	}
	last := currentLSN(t, env)
	eventually(t, 30*time.Second, "the slot to confirm everything", func() (bool, error) {
		return confirmedFlush(t, env, cfg.Slot) >= last, nil
	})
}

// TestSlowKafkaBoundsInflight: when Kafka acknowledges slowly, capture stops
// reading at the in-flight bound instead of buffering the backlog, and
// delivers everything as acknowledgements come back.
func TestSlowKafkaBoundsInflight(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	cfg.MaxMessageBytes, cfg.MaxInflightBytes, cfg.BatchSize = 4096, 32<<10, 20
	c := startCapture(t, cfg)
	c.waitStreaming(t)
	env.Kafka.Cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		time.Sleep(10 * time.Millisecond) // every produce request waits: a slow broker
		return nil, nil, false
	})
	mustExec(t, env, `INSERT INTO companies (name) SELECT 'slow ' || i FROM generate_series(1, 300) i`)

	var peak float64
	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	r.waitChanges(t, 60*time.Second, "300 changes through a slow broker", func(cs []consumed) bool {
		peak = max(peak, gaugeValue(t, c.reg, "alignsync_capture_inflight_bytes"))
		return len(forTable(cs, "companies")) >= 300
	})
	if limit := float64(cfg.MaxInflightBytes + cfg.MaxMessageBytes + 512); peak > limit {
		t.Fatalf("in-flight bytes reached %v, above the bound %v", peak, limit)
	}
	if peak == 0 {
		t.Fatalf("in-flight bytes never observed")
	}
	t.Logf("peak in-flight bytes observed: %v (bound %d)", peak, cfg.MaxInflightBytes)
}
