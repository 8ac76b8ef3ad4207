package reconcile

import (
	"github.com/illumera/alignsync/change"

	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/pipeline"
	"github.com/illumera/alignsync/sinks/align"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// harness is the real thing end to end: companies connected through
// connect.Service against the simulator, whose webhooks reach the ingest
// receiver on loopback.
type harness struct {
	t       *testing.T
	env     *testenv.Env
	conns   *connect.Service
	reg     *prometheus.Registry
	metrics *Metrics
	writer  *kafka.Writer
	lsn     uint64
	now     func() time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	env := testenv.New(t)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyring, err := credentials.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	router := mux.NewRouter()
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	conns, err := connect.NewService(connect.Config{Pool: env.Pool, Keyring: keyring, PublicBaseURL: srv.URL,
		NewClient: connect.NewClientFactory(env.Align.BaseURL, nil)})
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := ingest.NewReceiver(ingest.Config{Pool: env.Pool, Connections: conns})
	if err != nil {
		t.Fatal(err)
	}
	receiver.Register(router)
	reg := prometheus.NewRegistry()
	h := &harness{t: t, env: env, conns: conns, reg: reg, metrics: NewMetrics(reg), now: time.Now}
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

// connect creates an Align organization and a company connected to it the
// way an admin does.
func (h *harness) connect(name string) (string, alignsim.Org) {
	h.t.Helper()
	ctx := h.ctx()
	org, err := h.env.Align.Control.CreateOrg(ctx, name, true)
	if err != nil {
		h.t.Fatal(err)
	}
	company := uuid.NewString()
	h.exec(`INSERT INTO companies (id, name) VALUES ($1, $2)`, company, name)
	if _, err := h.conns.Connect(ctx, company, org.OrgKey); err != nil {
		h.t.Fatalf("connecting %s: %v", name, err)
	}
	return company, org
}

func (h *harness) reconciler() *Reconciler {
	h.t.Helper()
	r, err := New(Config{Pool: h.env.Pool, Keys: h.conns, AlignBaseURL: h.env.Align.BaseURL, Metrics: h.metrics,
		Now: func() time.Time { return h.now() }})
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// run reconciles and fails the test unless every company was compared.
func (h *harness) run(opts Options) Report {
	h.t.Helper()
	rep, err := h.reconciler().Run(h.ctx(), opts)
	if err != nil {
		h.t.Fatalf("reconcile: %v (report %+v)", err, rep)
	}
	return rep
}

// recorded returns the discrepancies a run opened or found again, by field.
func (h *harness) recorded(runID string) map[string][2]int64 {
	h.t.Helper()
	rows, err := h.env.Pool.Query(context.Background(), `SELECT field, illumera_value, align_value
		FROM align_sync.reconciliation_discrepancies WHERE $1 IN (run_id, last_run_id)`, runID)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][2]int64{}
	for rows.Next() {
		var f string
		var i, a int64
		if err := rows.Scan(&f, &i, &a); err != nil {
			h.t.Fatal(err)
		}
		out[f] = [2]int64{i, a}
	}
	return out
}

func (h *harness) entryStatus(id string) (status, reason string) {
	h.t.Helper()
	err := h.env.Pool.QueryRow(context.Background(), `SELECT status, coalesce(rejection_reason, '') FROM time_entries WHERE id = $1`, id).Scan(&status, &reason)
	if err != nil {
		h.t.Fatal(err)
	}
	return status, reason
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

func (h *harness) alignState(org alignsim.Org) alignsim.State {
	h.t.Helper()
	st, err := h.env.Align.Control.State(context.Background(), org.OrganizationID)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// project is an Illumera project with one engagement, created in Align and
// linked the way the pipeline would have done it.
type project struct {
	company, id, talent, engagement string
	alignID, alignUser              string
	api                             *align.Client
	org                             alignsim.Org
}

func (h *harness) linkedProject(company string, org alignsim.Org, rateCents int) project {
	h.t.Helper()
	ctx := h.ctx()
	// The simulator allows 600 requests a minute per key; the fixtures stay
	// below that without the client pacing them.
	api, err := align.New(align.Config{BaseURL: h.env.Align.BaseURL, APIKey: org.OrgKey, RatePerMinute: 60000})
	if err != nil {
		h.t.Fatal(err)
	}
	p := project{company: company, id: uuid.NewString(), talent: uuid.NewString(), engagement: uuid.NewString(), api: api, org: org}
	email := "dev-" + p.talent[:8] + "@example.com"
	h.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Ada Lovelace')`, p.talent, email)
	h.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Radar', 'active')`, p.id, company)
	h.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, $5, 'accepted')`,
		p.engagement, company, p.id, p.talent, rateCents)
	proj, _, err := api.CreateProject(ctx, uuid.NewString(), align.CreateProjectRequest{Name: "Radar",
		ExternalRef: &align.ExternalRef{Provider: provider, ExternalType: "project", ExternalID: p.id}})
	if err != nil {
		h.t.Fatal(err)
	}
	no := false
	inv, err := api.InviteUser(ctx, uuid.NewString(), align.InviteUserRequest{Email: email, Name: "Ada Lovelace", Role: align.RoleDeveloper,
		SendInvite: &no, ExternalRef: &align.ExternalRef{Provider: provider, ExternalType: "talent", ExternalID: p.talent}})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, _, err := api.AddMember(ctx, uuid.NewString(), proj.ID, align.AddMemberRequest{UserID: inv.UserID}); err != nil {
		h.t.Fatal(err)
	}
	p.alignID, p.alignUser = proj.ID, inv.UserID
	h.link(company, "project", p.id, proj.ID)
	h.link(company, "user", p.talent, inv.UserID)
	h.link(company, "project_member", p.engagement, proj.ID+"/"+inv.UserID)
	return p
}

func (h *harness) link(company, entityType, illumeraID, alignID string) {
	h.exec(`INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id) VALUES ($1, $2, $3, $4)`,
		company, entityType, illumeraID, alignID)
}

// entry creates a time entry on both sides, Align's costing at alignRate,
// and moves it to status on both (Illumera directly, Align by its manager).
func (h *harness) entry(p project, workDate string, minutes int, alignRate int64, status string) (string, string) {
	h.t.Helper()
	ctx := h.ctx()
	id := uuid.NewString()
	h.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, p.company, p.engagement, p.id, p.talent, workDate, minutes, status)
	te, _, err := p.api.CreateIntegrationTimeEntry(ctx, uuid.NewString(), align.CreateIntegrationTimeEntryRequest{
		ProjectID: p.alignID, UserID: p.alignUser, WorkDate: workDate, Minutes: minutes, ExternalSystem: provider, ExternalID: id,
		ExternalMetadata: map[string]any{"rateCents": alignRate}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.link(p.company, "time_entry", id, te.ID)
	if status != "draft" {
		if _, err := p.api.SubmitTimeEntry(ctx, te.ID); err != nil {
			h.t.Fatal(err)
		}
	}
	ctl := h.env.Align.Control
	steps := map[string][]func(context.Context, string) (alignsim.TimeEntry, error){
		"approved": {ctl.Approve},
		"locked":   {ctl.Approve, ctl.Lock},
		"invoiced": {ctl.Approve, ctl.Lock, ctl.Invoice},
	}
	for _, step := range steps[status] {
		if _, err := step(ctx, te.ID); err != nil {
			h.t.Fatal(err)
		}
	}
	return id, te.ID
}

// startSink runs a pipeline sink with the real connections until stop or the
// end of the test.
func (h *harness) startSink(cfg pipeline.Config) (stop func()) {
	h.t.Helper()
	cfg.Brokers, cfg.AlignBaseURL = h.env.Kafka.Brokers, h.env.Align.BaseURL
	cfg.RetryInterval, cfg.StatsInterval = 50*time.Millisecond, time.Second
	s, err := pipeline.New(cfg, h.env.Pool, h.conns, slog.New(slog.NewJSONHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("sink stopped with %v", err)
			}
			s.Close()
		}
	}
	h.t.Cleanup(stop)
	return stop
}

// emit produces a change envelope as capture would, after the current WAL
// position so that the sink does not take it for history from before the
// connection.
func (h *harness) emit(table string, after map[string]any) {
	h.t.Helper()
	var wal uint64
	if err := h.env.Pool.QueryRow(context.Background(), `SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&wal); err != nil {
		h.t.Fatal(err)
	}
	h.lsn = max(h.lsn, wal) + 0x100
	now := time.Now().UnixMilli()
	value, _ := json.Marshal(change.Envelope{After: after, Op: change.OpCreate, TsMs: now,
		Source: change.Source{Connector: change.Connector, Table: table, Schema: "public", CommitLSN: h.lsn, LSN: h.lsn, TsMs: now}})
	key := fmt.Sprint(after["company_id"])
	if err := h.writer.WriteMessages(context.Background(), kafka.Message{Key: []byte(key), Value: value}); err != nil {
		h.t.Fatalf("producing: %v", err)
	}
}

func row(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func (h *harness) outboxOpen(company string) int {
	var n int
	if err := h.env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.outbox
		WHERE company_id = $1 AND status <> 'done'`, company).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}
