package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/change"
	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// staticKeys is a Connections that hands out keys registered by the test.
type staticKeys struct {
	mu     sync.Mutex
	keys   map[string]string
	errors map[string]string
}

func (k *staticKeys) APIKey(_ context.Context, companyID string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[companyID]
	if !ok {
		return "", fmt.Errorf("no key for company %s", companyID)
	}
	return key, nil
}

func (k *staticKeys) MarkError(_ context.Context, companyID, msg string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.errors[companyID] = msg
	return nil
}

// harness is a sink fed directly through Kafka with hand-made envelopes.
type harness struct {
	t      testing.TB
	env    *testenv.Env
	keys   *staticKeys
	writer *kafka.Writer
	lsn    atomic.Uint64
	reg    *prometheus.Registry // for the next startSink; nil: a fresh one
	conns  Connections          // what startSink's sink gets keys from; nil: keys
}

func newHarness(t testing.TB) *harness {
	env := testenv.New(t)
	h := &harness{t: t, env: env, keys: &staticKeys{keys: map[string]string{}, errors: map[string]string{}}}
	h.lsn.Store(1 << 24)
	h.writer = env.CDCWriter(t)
	t.Cleanup(h.logUnfinished)
	return h
}

// logUnfinished shows, when the test failed, what the ledger still holds:
// the first thing to read when a company did not converge.
func (h *harness) logUnfinished() {
	if !h.t.Failed() {
		return
	}
	rows, err := h.env.Pool.Query(context.Background(), `SELECT o.id, o.company_id, o.op, o.status, o.attempts,
		coalesce(o.blocked_by, 0), coalesce(o.next_retry_at::text, ''), coalesce(o.last_error, ''),
		coalesce(l.ready_at::text, ''), coalesce(l.lease_owner, '')
		FROM align_sync.outbox o LEFT JOIN align_sync.lanes l USING (company_id)
		WHERE o.status <> 'done' ORDER BY o.id LIMIT 50`)
	if err != nil {
		h.t.Logf("reading the unfinished operations: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, blocked int64
		var attempts int
		var company, op, status, retry, lastErr, ready, owner string
		_ = rows.Scan(&id, &company, &op, &status, &attempts, &blocked, &retry, &lastErr, &ready, &owner)
		h.t.Logf("unfinished #%d %s %s %s attempts=%d blocked_by=%d next_retry=%s lane ready=%s owner=%s error=%q",
			id, company[:8], op, status, attempts, blocked, retry, ready, owner, lastErr)
	}
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	h.t.Cleanup(cancel)
	return ctx
}

// startSink runs a sink until the test ends.
func (h *harness) startSink(cfg Config) *Sink {
	cfg.Brokers = h.env.Kafka.Brokers
	cfg.AlignBaseURL = h.env.Align.BaseURL
	setDefault(&cfg.RetryInterval, 50*time.Millisecond)
	setDefault(&cfg.ClaimInterval, 50*time.Millisecond)
	setDefault(&cfg.SweepInterval, 500*time.Millisecond)
	setDefault(&cfg.StatsInterval, 200*time.Millisecond)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	reg := h.reg
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	h.reg = nil
	var conns Connections = h.keys
	if h.conns != nil {
		conns = h.conns
	}
	s, err := New(cfg, h.env.Pool, conns, logger, reg)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("sink stopped with %v", err)
		}
		s.Close()
	})
	return s
}

// connect creates an Align org and a connected company using its key.
func (h *harness) connect(name string) (companyID string, org alignsim.Org) {
	ctx := h.ctx()
	org, err := h.env.Align.Control.CreateOrg(ctx, name, true)
	if err != nil {
		h.t.Fatal(err)
	}
	companyID = uuid.NewString()
	h.exec(`INSERT INTO companies (id, name) VALUES ($1, $2)`, companyID, name)
	h.exec(`INSERT INTO align_sync.connections (company_id, status, api_key_ciphertext, key_last4, organization_id, connected_lsn)
		VALUES ($1, 'connected', 'x', right($2, 4), $3, '0/0')`, companyID, org.OrgKey, org.OrganizationID)
	h.keys.mu.Lock()
	h.keys.keys[companyID] = org.OrgKey
	h.keys.mu.Unlock()
	return companyID, org
}

// envelope is the value capture would produce for a change of table.
func (h *harness) envelope(table, op string, before, after map[string]any) []byte {
	lsn, now := h.lsn.Add(0x100), time.Now().UnixMilli()
	value, err := json.Marshal(change.Envelope{Before: before, After: after, Op: op, TsMs: now,
		Source: change.Source{Connector: change.Connector, Table: table, Schema: "public", CommitLSN: lsn, LSN: lsn, TsMs: now}})
	if err != nil {
		panic(err)
	}
	return value
}

func (h *harness) exec(sql string, args ...any) {
	h.t.Helper()
	h.env.Exec(h.t, sql, args...)
}

// emit produces one change envelope as capture would, keyed by company.
func (h *harness) emit(table, op string, before, after map[string]any) {
	h.t.Helper()
	row := after
	if row == nil {
		row = before
	}
	key := fmt.Sprint(row["company_id"])
	if table == "companies" || table == "talent" {
		key = fmt.Sprint(row["id"])
	}
	value := h.envelope(table, op, before, after)
	if err := h.writer.WriteMessages(context.Background(), kafka.Message{Key: []byte(key), Value: value}); err != nil {
		h.t.Fatalf("producing: %v", err)
	}
}

// waitFor polls the simulator's state of org until ok or the deadline.
func (h *harness) waitFor(org alignsim.Org, what string, ok func(alignsim.State) bool) alignsim.State {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, err := h.env.Align.Control.State(context.Background(), org.OrganizationID)
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; state: %+v (err %v)", what, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOutbox polls until the company's outbox satisfies ok.
func (h *harness) waitOutbox(companyID, what string, ok func(map[string]int) bool) map[string]int {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts := h.outboxCounts(companyID)
		if ok(counts) {
			return counts
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; outbox: %v", what, counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) outboxCounts(companyID string) map[string]int {
	counts := map[string]int{}
	rows, err := h.env.Pool.Query(context.Background(), `SELECT status, count(*) FROM align_sync.outbox WHERE company_id = $1 GROUP BY status`, companyID)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		_ = rows.Scan(&s, &n)
		counts[s] = n
	}
	return counts
}

func (h *harness) startSinkWithRegistry(cfg Config, reg *prometheus.Registry) *Sink {
	h.reg = reg
	return h.startSink(cfg)
}

func newMeRequest(ctx context.Context, baseURL, key string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/me", nil)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req, err
}

func doJSON(req *http.Request, out any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func waitCounter(t *testing.T, read func() float64, want float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for read() < want {
		if time.Now().After(deadline) {
			t.Fatalf("counter stayed at %v, want %v", read(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func row(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}
