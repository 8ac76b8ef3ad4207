package capture

import (
	"github.com/illumera/alignsync/change"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testConfig is a capture configuration for env with short intervals, so
// tests see confirmations and heartbeats quickly.
func testConfig(t *testing.T, env *testenv.Env, tables ...string) Config {
	cfg := DefaultConfig()
	cfg.DatabaseURL = env.DatabaseURL
	cfg.Brokers = env.Kafka.Brokers
	cfg.Tables = append(cfg.Tables, tables...)
	cfg.StatusInterval = 100 * time.Millisecond
	cfg.HeartbeatInterval = 300 * time.Millisecond
	cfg.SlotPollInterval = 200 * time.Millisecond
	cfg.LockPollInterval = 100 * time.Millisecond
	cfg.ReconnectMax = time.Second
	cfg.ShutdownTimeout = 10 * time.Second
	// Slots are per server and the server is shared by the package's tests.
	cfg.Slot = "alignsync_" + dbName(env.DatabaseURL)
	t.Cleanup(func() {
		_, _ = env.Pool.Exec(context.Background(), `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, cfg.Slot)
	})
	return cfg
}

// running is an in-process capture started by startCapture.
type running struct {
	*Capture
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, set before done closes
}

// startCapture runs a capture until the test ends (or stop is called) and
// fails the test when Run returns an error.
func startCapture(t *testing.T, cfg Config) *running {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(cfg, testLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Capture: c, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = c.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the capture and waits for Run to return; it is idempotent.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("capture.Run: %v", r.err)
			r.err = nil
		}
	case <-time.After(30 * time.Second):
		t.Errorf("capture.Run did not return within 30s of cancel")
	}
}

func (r *running) waitStreaming(t *testing.T) {
	t.Helper()
	eventually(t, 60*time.Second, "capture streaming", func() (bool, error) {
		select {
		case <-r.done:
			t.Fatalf("capture.Run returned early: %v", r.err)
		default:
		}
		return r.Ready() == nil, nil
	})
}

// testLogger sends capture's logs to the test log, shown on failure or -v.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// eventually polls cond until it holds, failing the test at the deadline.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustExec(t *testing.T, env *testenv.Env, sql string, args ...any) {
	t.Helper()
	if _, err := env.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// confirmedFlush is the slot's confirmed_flush_lsn (0 when absent).
func confirmedFlush(t *testing.T, env *testenv.Env, slot string) pglogrepl.LSN {
	t.Helper()
	var s *string
	err := env.Pool.QueryRow(context.Background(), `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&s)
	if err != nil || s == nil {
		return 0
	}
	lsn, _ := pglogrepl.ParseLSN(*s)
	return lsn
}

func currentLSN(t *testing.T, env *testenv.Env) pglogrepl.LSN {
	t.Helper()
	var s string
	if err := env.Pool.QueryRow(context.Background(), `SELECT pg_current_wal_insert_lsn()::text`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	lsn, _ := pglogrepl.ParseLSN(s)
	return lsn
}

// consumed is one consumed message, decoded.
type consumed struct {
	Env       change.Envelope
	Key       string
	Headers   map[string]string
	Partition int32
	Offset    int64
	Topic     string
}

// reader consumes topics from the start, accumulating what it reads.
type reader struct {
	cl      *kgo.Client
	mu      sync.Mutex
	changes []consumed
}

func newReader(t *testing.T, brokers []string, topics ...string) *reader {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &reader{cl: cl}
}

// poll reads what is available now (waiting at most a moment).
func (r *reader) poll(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	fetches := r.cl.PollFetches(ctx)
	fetches.EachError(func(topic string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("fetch %s/%d: %v", topic, p, err)
		}
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	fetches.EachRecord(func(rec *kgo.Record) {
		r.changes = append(r.changes, decodeRecord(t, rec))
	})
}

func decodeRecord(t *testing.T, rec *kgo.Record) consumed {
	c := consumed{Key: string(rec.Key), Headers: map[string]string{}, Partition: rec.Partition, Offset: rec.Offset, Topic: rec.Topic}
	for _, h := range rec.Headers {
		c.Headers[h.Key] = string(h.Value)
	}
	if rec.Topic == testenv.CDCTopic {
		dec := json.NewDecoder(bytes.NewReader(rec.Value))
		dec.UseNumber()
		if err := dec.Decode(&c.Env); err != nil {
			t.Errorf("decoding %s/%d@%d: %v: %s", rec.Topic, rec.Partition, rec.Offset, err, rec.Value)
		}
	}
	return c
}

// waitChanges polls until match holds for the changes read so far and
// returns them.
func (r *reader) waitChanges(t *testing.T, timeout time.Duration, what string, match func([]consumed) bool) []consumed {
	t.Helper()
	var out []consumed
	eventually(t, timeout, what, func() (bool, error) {
		r.poll(t)
		r.mu.Lock()
		defer r.mu.Unlock()
		out = append(out[:0], r.changes...)
		return match(out), nil
	})
	return out
}

// forTable keeps the CDC changes of one table.
func forTable(cs []consumed, table string) []consumed {
	var out []consumed
	for _, c := range cs {
		if c.Topic == testenv.CDCTopic && c.Env.Source.Table == table {
			out = append(out, c)
		}
	}
	return out
}

func atLeast(table string, n int) func([]consumed) bool {
	return func(cs []consumed) bool { return len(forTable(cs, table)) >= n }
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func dbName(url string) string {
	i := strings.LastIndex(url, "/")
	name := url[i+1:]
	if q := strings.IndexByte(name, '?'); q >= 0 {
		name = name[:q]
	}
	return name
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}
