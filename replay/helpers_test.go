package replay

import (
	"github.com/illumera/alignsync/change"

	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/pipeline"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// harness feeds a sink through Kafka with hand-made envelopes whose
// timestamps it controls, so time ranges are exact.
type harness struct {
	t      *testing.T
	env    *testenv.Env
	keys   *testenv.Keys
	writer *kafka.Writer
	lsn    uint64
	clock  time.Time // the next message's timestamp
}

func newHarness(t *testing.T) *harness {
	env := testenv.New(t)
	h := &harness{t: t, env: env, keys: testenv.NewKeys(), lsn: 1 << 24,
		clock: time.Now().Add(-time.Hour).Truncate(time.Second)}
	h.writer = env.CDCWriter(t)
	return h
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) exec(sql string, args ...any) {
	h.t.Helper()
	h.env.Exec(h.t, sql, args...)
}

// connect creates an Align organization and a company connected to it.
func (h *harness) connect(name string) (string, alignsim.Org) {
	h.t.Helper()
	org, err := h.env.Align.Control.CreateOrg(h.ctx(), name, true)
	if err != nil {
		h.t.Fatal(err)
	}
	company := uuid.NewString()
	h.exec(`INSERT INTO companies (id, name) VALUES ($1, $2)`, company, name)
	h.exec(`INSERT INTO align_sync.connections (company_id, status, api_key_ciphertext, key_last4, organization_id, connected_lsn)
		VALUES ($1, 'connected', 'x', right($2, 4), $3, '0/0')`, company, org.OrgKey, org.OrganizationID)
	h.keys.Set(company, org.OrgKey)
	return company, org
}

// fixture is one company's project, engagement and entries.
type fixture struct {
	company, project, talent, engagement string
	entries                              []string
}

func (h *harness) seed(company string, entries int) fixture {
	f := fixture{company: company, project: uuid.NewString(), talent: uuid.NewString(), engagement: uuid.NewString()}
	h.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Ada Lovelace')`, f.talent, "ada-"+f.talent[:8]+"@example.com")
	h.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Radar', 'active')`, f.project, company)
	h.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 9000, 'accepted')`,
		f.engagement, company, f.project, f.talent)
	for range entries {
		id := uuid.NewString()
		h.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
			VALUES ($1, $2, $3, $4, $5, '2026-11-20', 60, 'submitted')`, id, company, f.engagement, f.project, f.talent)
		f.entries = append(f.entries, id)
	}
	return f
}

func (h *harness) emitProject(f fixture) {
	h.emit("projects", map[string]any{"id": f.project, "company_id": f.company, "title": "Radar", "description": nil, "status": "active"})
	h.emit("engagements", map[string]any{"id": f.engagement, "company_id": f.company, "project_id": f.project, "talent_id": f.talent,
		"rate_cents": 9000, "status": "accepted"})
}

func (h *harness) emitEntry(f fixture, i int) {
	h.emit("time_entries", map[string]any{"id": f.entries[i], "company_id": f.company, "engagement_id": f.engagement,
		"project_id": f.project, "talent_id": f.talent, "work_date": "2026-11-20", "minutes": 60, "description": nil,
		"status": "submitted", "adjustment_of": nil})
}

// emit produces one change envelope as capture would, keyed by company and
// stamped with the harness clock, which then moves on a millisecond.
func (h *harness) emit(table string, after map[string]any) {
	h.t.Helper()
	h.lsn += 0x100
	ts := h.clock
	h.clock = h.clock.Add(time.Millisecond)
	value, _ := json.Marshal(change.Envelope{After: after, Op: change.OpCreate, TsMs: ts.UnixMilli(),
		Source: change.Source{Connector: change.Connector, Table: table, Schema: "public", CommitLSN: h.lsn, LSN: h.lsn, TsMs: ts.UnixMilli()}})
	msg := kafka.Message{Key: []byte(fmt.Sprint(after["company_id"])), Value: value, Time: ts}
	if err := h.writer.WriteMessages(context.Background(), msg); err != nil {
		h.t.Fatalf("producing: %v", err)
	}
}

// mark moves the clock a second on and returns it: every message emitted
// before is older, every one after is at or after it.
func (h *harness) mark() time.Time {
	h.clock = h.clock.Add(time.Second)
	return h.clock
}

func (h *harness) newSink(cfg pipeline.Config, reg *prometheus.Registry) *pipeline.Sink {
	h.t.Helper()
	cfg.Brokers, cfg.AlignBaseURL = h.env.Kafka.Brokers, h.env.Align.BaseURL
	cfg.RetryInterval, cfg.StatsInterval = 50*time.Millisecond, time.Second
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s, err := pipeline.New(cfg, h.env.Pool, h.keys, slog.New(slog.NewJSONHandler(io.Discard, nil)), reg)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// startSink runs a sink in its consumer group until stop or the end of the
// test.
func (h *harness) startSink(cfg pipeline.Config, reg *prometheus.Registry) (stop func()) {
	h.t.Helper()
	s := h.newSink(cfg, reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("sink stopped with %v", err)
			}
			s.Close()
		})
	}
	h.t.Cleanup(stop)
	return stop
}

func (h *harness) admin() *kadm.Client {
	adm, closeAdm, err := newAdmin(h.env.Kafka.Brokers)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(closeAdm)
	return adm
}

// waitUntil polls ok until it holds or a minute has passed.
func (h *harness) waitUntil(what string, ok func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// committed returns the group's committed offsets of the CDC topic.
func (h *harness) committed(group string) map[int32]int64 {
	h.t.Helper()
	resp, err := h.admin().FetchOffsetsForTopics(h.ctx(), group, testenv.CDCTopic)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[int32]int64{}
	for p, o := range resp[testenv.CDCTopic] {
		out[p] = o.At
	}
	return out
}

// waitConsumed waits until the group has committed every message produced.
func (h *harness) waitConsumed(group string) {
	h.t.Helper()
	adm := h.admin()
	h.waitUntil("group "+group+" to commit the end of every partition", func() bool {
		ends, err := adm.ListEndOffsets(h.ctx(), testenv.CDCTopic)
		if err != nil {
			return false
		}
		committed := h.committed(group)
		caughtUp := true
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset > 0 && committed[o.Partition] != o.Offset {
				caughtUp = false
			}
		})
		return caughtUp
	})
}

func (h *harness) alignState(org alignsim.Org) alignsim.State {
	h.t.Helper()
	st, err := h.env.Align.Control.State(context.Background(), org.OrganizationID)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// entriesByExternalID counts Align's time entries per Illumera id.
func entriesByExternalID(st alignsim.State) map[string]int {
	out := map[string]int{}
	for _, e := range st.TimeEntries {
		if e.ExternalID != nil {
			out[*e.ExternalID]++
		}
	}
	return out
}

func (h *harness) outbox(company string) map[string]int {
	h.t.Helper()
	rows, err := h.env.Pool.Query(context.Background(), `SELECT status, count(*) FROM align_sync.outbox WHERE company_id = $1 GROUP BY status`, company)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			h.t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

// counts summarises an Align organization for before/after comparisons.
func counts(st alignsim.State) string {
	return fmt.Sprintf("projects %d, users %d, members %d, entries %d, pages %d, links %d", len(st.Projects), len(st.Users),
		len(st.Members), len(st.TimeEntries), len(st.WikiPages), len(st.IntegrationLinks))
}

// orgOf returns the Align organization a company is connected to.
func (h *harness) orgOf(company string) alignsim.Org {
	h.t.Helper()
	var org alignsim.Org
	if err := h.env.Pool.QueryRow(context.Background(), `SELECT organization_id::text FROM align_sync.connections
		WHERE company_id = $1`, company).Scan(&org.OrganizationID); err != nil {
		h.t.Fatal(err)
	}
	return org
}
