package systemtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestEndedMemberStaysRemoved: a defect the system test found, kept as its
// regression test. A talent whose engagement ended was a member of the
// project in Align again:
//
// A time entry's create (DependsOn member:<engagement>) is recorded before
// the engagement's end (Touches member:<engagement>). The blocking rule makes
// a later operation wait only for earlier ones that touch what it touches or
// // depends on; nothing made the member's removal wait for an earlier create
// that depends on the membership. When the create failed transiently and
// waited for its retry, the removal ran first and deleted the membership
// link; the create's retry then found no link, synced the "missing
// dependency" from the current rows (ensureMember) and added the talent back.
// The system test met it three times in a 60-second run (RELIABILITY.md).
// Every time-entry operation now also touches the membership's use key, which
// the removal depends on (pipeline/translate).
func TestEndedMemberStaysRemoved(t *testing.T) {
	proxy := newFaultProxy(t)
	c := newCluster(t, clusterOptions{sinks: 1, sinkAlignURL: proxy.URL + "/api/v1"})
	proxy.target.Store(mustParse(t, c.env.Align.URL))
	ctx := context.Background()
	co := c.connectCompanies(ctx, 1)[0]
	project, talent, engagement := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Defect repro', 'active')`, []any{project, co.ID}},
		{`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Repro Talent')`, []any{talent, "repro-" + talent[:8] + "@example.com"}},
		{`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 9000, 'invited')`,
			[]any{engagement, co.ID, project, talent}},
		{`UPDATE engagements SET status = 'accepted' WHERE id = $1`, []any{engagement}},
	} {
		c.env.Exec(t, stmt.sql, stmt.args...)
	}
	c.waitFor(time.Minute, "the talent to be a member in Align", func() bool { return c.isMember(ctx, co, project, talent) })

	// The entry's create fails with 503 until the engagement's end has had
	// its chance to run.
	proxy.failEntryCreates.Store(true)
	entry := uuid.NewString()
	c.env.Exec(t, `INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, description)
		VALUES ($1, $2, $3, $4, $5, current_date, 60, 'Before the end')`, entry, co.ID, engagement, project, talent)
	c.waitFor(time.Minute, "the entry's create to be tried and refused", func() bool {
		return c.opAttempts(ctx, co, "time_entry.create", entry) > 0
	})
	c.env.Exec(t, `UPDATE engagements SET status = 'ended' WHERE id = $1`, engagement)
	// A fixed pipeline holds the removal behind the create: give the removal
	// a while, then let the create through either way.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && c.opStatus(ctx, co, "project_member.remove", engagement) != "done" {
		time.Sleep(100 * time.Millisecond)
	}
	removedFirst := c.opStatus(ctx, co, "project_member.remove", engagement) == "done"
	proxy.failEntryCreates.Store(false)
	c.waitFor(2*time.Minute, "every operation to be done", func() bool {
		var open int
		err := c.env.Pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.outbox WHERE company_id = $1 AND status <> 'done'`, co.ID).Scan(&open)
		return err == nil && open == 0
	})

	if c.isMember(ctx, co, project, talent) {
		t.Errorf("the engagement ended, yet the talent is a member of the project in Align again "+
			"(the removal ran before the earlier time entry create, first = %v; the create's retry re-added the member)", removedFirst)
	}
	st, err := c.ctl.State(ctx, co.Org.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(indexAlign(st).links["time_entry:"+entry]); n != 1 {
		t.Errorf("the time entry logged before the end is in Align %d times, want once", n)
	}
}

// isMember reports whether Align lists the talent as a member of the
// project, both found through their integration links.
func (c *cluster) isMember(ctx context.Context, co company, project, talent string) bool {
	st, err := c.ctl.State(ctx, co.Org.OrganizationID)
	if err != nil {
		return false
	}
	a := indexAlign(st)
	p, u := a.links["project:"+project], a.links["talent:"+talent]
	return len(p) == 1 && len(u) == 1 && a.members[p[0]+"/"+u[0]]
}

func (c *cluster) opStatus(ctx context.Context, co company, op, entityID string) string {
	var status string
	_ = c.env.Pool.QueryRow(ctx, `SELECT status FROM align_sync.outbox WHERE company_id = $1 AND op = $2 AND entity_id = $3`,
		co.ID, op, entityID).Scan(&status)
	return status
}

func (c *cluster) opAttempts(ctx context.Context, co company, op, entityID string) int {
	var n int
	_ = c.env.Pool.QueryRow(ctx, `SELECT attempts FROM align_sync.outbox WHERE company_id = $1 AND op = $2 AND entity_id = $3 AND status <> 'done'`,
		co.ID, op, entityID).Scan(&n)
	return n
}

// faultProxy stands between the sinks and the simulator, to fail one kind of
// request on cue: the simulator's own faults hit every request alike.
type faultProxy struct {
	*httptest.Server
	target           atomic.Pointer[url.URL]
	failEntryCreates atomic.Bool
}

func newFaultProxy(t *testing.T) *faultProxy {
	p := &faultProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(p.target.Load()) }}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.failEntryCreates.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/integration/time-entries") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"internal","message":"injected by the test's proxy","reason":null}}`))
			return
		}
		if p.target.Load() == nil {
			http.Error(w, "the proxy has no target yet", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func mustParse(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
