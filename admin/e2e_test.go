package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/sinks/align"

	"github.com/illumera/alignsync/internal/testenv"
)

// alignEntry is a time entry on both sides, linked as the pipeline links it.
type alignEntry struct{ illumeraID, alignID string }

// e2e is a connected company whose Align project has one member.
type e2e struct {
	s                                    *stack
	client                               *align.Client
	company, project, talent, engagement string
	alignProject, alignUser              string
}

func newE2E(t *testing.T, s *stack) *e2e {
	t.Helper()
	ctx := context.Background()
	e := &e2e{s: s}
	e.company, e.project, e.talent, e.engagement = s.company()
	s.connect(e.company, s.org.OrgKey)
	c, err := align.New(align.Config{BaseURL: s.ctl.APIBaseURL(), APIKey: s.org.OrgKey, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	p, _, err := c.CreateProject(ctx, uuid.NewString(), align.CreateProjectRequest{Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	u, err := c.InviteUser(ctx, uuid.NewString(), align.InviteUserRequest{Email: uuid.NewString() + "@example.com",
		Name: "Tal Ent", ProjectIDs: []string{p.ID}, SendInvite: &no})
	if err != nil {
		t.Fatal(err)
	}
	e.alignProject, e.alignUser = p.ID, u.UserID
	return e
}

// entry creates a submitted entry in Illumera and in Align, linked, and
// submits it in Align as the sink would.
func (e *e2e) entry(t *testing.T) alignEntry {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := e.s.pool.QueryRow(ctx, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, current_date, 90, 'submitted') RETURNING id::text`,
		e.company, e.engagement, e.project, e.talent).Scan(&id); err != nil {
		t.Fatal(err)
	}
	te, _, err := e.client.CreateIntegrationTimeEntry(ctx, uuid.NewString(), align.CreateIntegrationTimeEntryRequest{
		ProjectID: e.alignProject, UserID: e.alignUser, WorkDate: time.Now().Format("2006-01-02"), Minutes: 90,
		ExternalSystem: "illumera", ExternalID: id,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.s.exec(`INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id) VALUES ($1, 'time_entry', $2, $3)`,
		e.company, id, te.ID)
	if _, err := e.client.SubmitTimeEntry(ctx, te.ID); err != nil {
		t.Fatal(err)
	}
	return alignEntry{illumeraID: id, alignID: te.ID}
}

func (e *e2e) status(t *testing.T, en alignEntry) (string, *string) {
	t.Helper()
	var st string
	var reason *string
	if err := e.s.pool.QueryRow(context.Background(), `SELECT status, rejection_reason FROM time_entries WHERE id = $1`, en.illumeraID).Scan(&st, &reason); err != nil {
		t.Fatal(err)
	}
	return st, reason
}

func (e *e2e) waitStatus(t *testing.T, en alignEntry, want string) {
	t.Helper()
	poll(t, "entry "+want, func() bool { st, _ := e.status(t, en); return st == want })
}

// waitDelivered waits until the simulator has no delivery still in flight.
func (e *e2e) waitDelivered(t *testing.T) alignsim.State {
	t.Helper()
	var st alignsim.State
	poll(t, "every webhook delivered", func() bool {
		var err error
		st, err = e.s.ctl.State(context.Background(), e.s.org.OrganizationID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range st.Deliveries {
			if d.State == alignsim.DeliveryPending {
				return false
			}
		}
		return true
	})
	return st
}

// Statuses flow from the simulator's manager actions, through signed webhooks
// over loopback, into Illumera's time_entries.
func TestWebhooksFromSimulator(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	e := newE2E(t, s)

	en := e.entry(t)
	for _, step := range []struct {
		act  func(context.Context, string) (alignsim.TimeEntry, error)
		want string
	}{{s.ctl.Approve, "approved"}, {s.ctl.Lock, "locked"}, {s.ctl.Invoice, "invoiced"}} {
		if _, err := step.act(ctx, en.alignID); err != nil {
			t.Fatal(err)
		}
		e.waitStatus(t, en, step.want)
	}

	rej := e.entry(t)
	e.waitDelivered(t) // its time.submitted, so that time.rejected is the newest
	if _, err := s.ctl.Reject(ctx, rej.alignID, "Wrong project code"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, rej, "rejected")
	if _, reason := e.status(t, rej); reason == nil || *reason != "Wrong project code" {
		t.Fatalf("rejection reason %v", reason)
	}

	st := e.waitDelivered(t)
	for _, d := range st.Deliveries {
		if d.State != alignsim.DeliveryDelivered || d.LastStatus != 200 {
			t.Fatalf("delivery %s %s: %s %d", d.ID, d.EventName, d.State, d.LastStatus)
		}
	}
	// Listed for the admin, newest first, each exactly once.
	var page struct {
		Data []struct {
			DeliveryID string `json:"deliveryId"`
			EventName  string `json:"eventName"`
			Status     string `json:"status"`
		} `json:"data"`
		Total int `json:"total"`
	}
	tok := token(t, e.company, admin.RoleCompanyAdmin)
	s.call(http.MethodGet, "/api/companies/"+e.company+"/align/webhook-deliveries", tok, nil, &page)
	if page.Total != len(st.Deliveries) {
		t.Fatalf("%d deliveries recorded, Align sent %d", page.Total, len(st.Deliveries))
	}
	if page.Data[0].EventName != "time.rejected" {
		t.Fatalf("newest delivery is %s, want time.rejected", page.Data[0].EventName)
	}
	for _, d := range page.Data {
		if d.Status != "processed" {
			t.Fatalf("delivery %+v", d)
		}
	}
}

// Approved → locked → invoiced, every delivery sent twice and each held a
// random 0–2 s so they arrive out of order: the entry ends invoiced and each
// delivery is recorded once.
func TestDuplicatedReorderedWebhooksFromSimulator(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	e := newE2E(t, s)
	en := e.entry(t)
	e.waitDelivered(t) // time.submitted

	if _, err := s.ctl.SetFaults(ctx, alignsim.Faults{DuplicateWebhooks: alignsim.Ptr(1.0), ReorderWebhooks: alignsim.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	for _, act := range []func(context.Context, string) (alignsim.TimeEntry, error){s.ctl.Approve, s.ctl.Lock, s.ctl.Invoice} {
		if _, err := act(ctx, en.alignID); err != nil {
			t.Fatal(err)
		}
	}
	st := e.waitDelivered(t)
	duplicated := 0
	for _, d := range st.Deliveries {
		if d.Duplicated {
			duplicated++
		}
	}
	if duplicated != 3 {
		t.Fatalf("%d duplicated deliveries, want 3", duplicated)
	}
	if got, _ := e.status(t, en); got != "invoiced" {
		t.Fatalf("final status %s, want invoiced", got)
	}
	var rows, ids int
	if err := s.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT delivery_id) FROM align_sync.webhook_deliveries WHERE company_id = $1`, e.company).Scan(&rows, &ids); err != nil {
		t.Fatal(err)
	}
	if rows != 4 || ids != 4 {
		t.Fatalf("%d records of %d ids, want 4 of 4 (submitted, approved, locked, invoiced)", rows, ids)
	}
	if v := testenv.CounterValue(t, s.reg, "alignsync_ingest_webhooks_total", "duplicate"); v < 3 {
		t.Fatalf("duplicate counter %v, want ≥ 3", v)
	}
}
