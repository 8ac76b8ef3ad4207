package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/sinks/align"
)

// An entry approved in Align whose webhook never came heals while serve runs
// with its default settings: the status sweep is on by default.
func TestServeHealsAMissedWebhookByDefault(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := testenv.New(t)
	keys := keySpec("k1", 1)
	keyring, err := credentials.ParseKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	conns, err := connect.NewService(connect.Config{Pool: env.Pool, Keyring: keyring, PublicBaseURL: "http://127.0.0.1:1",
		NewClient: connect.NewClientFactory(env.Align.BaseURL, nil)})
	if err != nil {
		t.Fatal(err)
	}
	org, err := env.Align.Control.CreateOrg(ctx, "Heal Co", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Align.Control.SetFaults(ctx, alignsim.Faults{DropWebhooks: alignsim.Ptr(1.0)}); err != nil {
		t.Fatal(err)
	}
	company := uuid.NewString()
	env.Exec(t, `INSERT INTO companies (id, name) VALUES ($1, 'Heal Co')`, company)
	if _, err := conns.Connect(ctx, company, org.OrgKey); err != nil {
		t.Fatal(err)
	}
	entry := approvedInAlignOnly(ctx, t, env, company, org)

	done := make(chan int, 1)
	var out testenv.LogBuffer
	serveCtx, stop := context.WithCancel(ctx)
	go func() {
		done <- run(serveCtx, []string{"serve", "--database-url", env.DatabaseURL, "--addr", "127.0.0.1:0",
			"--public-base-url", "http://127.0.0.1:1", "--encryption-keys", keys, "--admin-jwt-secret", strings.Repeat("j", 32),
			"--align-base-url", env.Align.BaseURL}, &out, &out)
	}()
	var status string
	for status != "approved" {
		if ctx.Err() != nil {
			stop()
			t.Fatalf("entry still %s; serve's output:\n%s", status, out.String())
		}
		if err := env.Pool.QueryRow(ctx, `SELECT status FROM time_entries WHERE id = $1`, entry).Scan(&status); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, out.String())
	}
	var repaired bool
	if err := env.Pool.QueryRow(ctx, `SELECT repaired FROM align_sync.webhook_deliveries WHERE company_id = $1 AND event_name = 'time.approved'`,
		company).Scan(&repaired); err != nil || !repaired {
		t.Fatalf("repaired delivery: %v %v", repaired, err)
	}
}

// approvedInAlignOnly creates a time entry submitted three minutes ago in
// Illumera, linked to an entry Align has approved since, and returns its id.
func approvedInAlignOnly(ctx context.Context, t *testing.T, env *testenv.Env, company string, org alignsim.Org) string {
	t.Helper()
	api, err := align.New(align.Config{BaseURL: env.Align.BaseURL, APIKey: org.OrgKey})
	if err != nil {
		t.Fatal(err)
	}
	project, talent, engagement, entry := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	env.Exec(t, `INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Ada')`, talent, talent+"@example.com")
	env.Exec(t, `INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Radar', 'active')`, project, company)
	env.Exec(t, `INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 9000, 'active')`,
		engagement, company, project, talent)
	env.Exec(t, `INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status, updated_at)
		VALUES ($1, $2, $3, $4, $5, current_date, 60, 'submitted', now() - interval '3 minutes')`, entry, company, engagement, project, talent)
	p, _, err := api.CreateProject(ctx, uuid.NewString(), align.CreateProjectRequest{Name: "Radar"})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	u, err := api.InviteUser(ctx, uuid.NewString(), align.InviteUserRequest{Email: talent + "@example.com", Name: "Ada",
		Role: align.RoleDeveloper, ProjectIDs: []string{p.ID}, SendInvite: &no})
	if err != nil {
		t.Fatal(err)
	}
	te, _, err := api.CreateIntegrationTimeEntry(ctx, uuid.NewString(), align.CreateIntegrationTimeEntryRequest{
		ProjectID: p.ID, UserID: u.UserID, WorkDate: time.Now().UTC().Format("2006-01-02"), Minutes: 60,
		ExternalSystem: "illumera", ExternalID: entry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.SubmitTimeEntry(ctx, te.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Align.Control.Approve(ctx, te.ID); err != nil {
		t.Fatal(err)
	}
	env.Exec(t, `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id) VALUES ($1, 'time_entry', $2, $3)`,
		company, entry, te.ID)
	return entry
}
