package connect_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/connect"
)

// otherOrg creates a second Align organization.
func (f *fixture) otherOrg(t *testing.T, name string) alignsim.Org {
	t.Helper()
	org, err := f.ctl.CreateOrg(context.Background(), name, true)
	if err != nil {
		t.Fatal(err)
	}
	return org
}

func (f *fixture) webhooksOf(t *testing.T, orgID string) []alignsim.Webhook {
	t.Helper()
	st, err := f.ctl.State(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	return st.Webhooks
}

// sinkLink is the sink's own read of a link (pipeline/source.go), unchanged.
func sinkLink(t *testing.T, f *fixture, company, entityType, illumeraID string) (string, bool) {
	t.Helper()
	var id string
	err := f.pool.QueryRow(context.Background(), `SELECT align_id FROM align_sync.entity_links
		WHERE company_id = $1 AND entity_type = $2 AND illumera_id = $3`, company, entityType, illumeraID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return id, true
}

// sinkSaveLink is the sink's own write of a link (pipeline/outbox.go), unchanged.
func sinkSaveLink(t *testing.T, f *fixture, company, entityType, illumeraID, alignID string) {
	t.Helper()
	if _, err := f.pool.Exec(context.Background(), `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		VALUES ($1, $2, $3, $4) ON CONFLICT (company_id, entity_type, illumera_id)
		DO UPDATE SET align_id = EXCLUDED.align_id, updated_at = now()`, company, entityType, illumeraID, alignID); err != nil {
		t.Fatal(err)
	}
}

type retiredLink struct {
	OrganizationID, ReplacedBy, EntityType, IllumeraID, AlignID string
}

func retiredLinks(t *testing.T, f *fixture, company string) []retiredLink {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT organization_id::text, replaced_by_organization_id::text,
		entity_type, illumera_id, align_id FROM align_sync.retired_entity_links
		WHERE company_id = $1 AND retired_at <= now() AND linked_at <= retired_at ORDER BY id`, company)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[retiredLink])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantOrganizationChanged(t *testing.T, err error, previous, current string, links int) {
	t.Helper()
	var fail *connect.Failure
	if !errors.As(err, &fail) || fail.Code != connect.CodeOrganizationChanged {
		t.Fatalf("got %v, want %s", err, connect.CodeOrganizationChanged)
	}
	if fail.PreviousOrganizationID != previous || fail.OrganizationID != current || fail.Links != links {
		t.Fatalf("failure names %s → %s with %d links, want %s → %s with %d", fail.PreviousOrganizationID,
			fail.OrganizationID, fail.Links, previous, current, links)
	}
	for _, want := range []string{previous, current} {
		if !strings.Contains(fail.Message, want) || !strings.Contains(fail.Fix, want) {
			t.Fatalf("message %q / fix %q does not name organization %s", fail.Message, fail.Fix, want)
		}
	}
	if !strings.Contains(fail.Fix, `"startOver": true`) || !strings.Contains(fail.Fix, "retired") {
		t.Fatalf("fix %q does not say how to start over and what it does", fail.Fix)
	}
}

// Issue 13 point 3: a company whose links point into organization A
// reconnects with a key of organization B. Without confirmation nothing
// changes; with it the links are retired (kept, never read by the sink's
// queries) and the connection names B.
func TestReconnectToAnotherOrganization(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	project, entry := uuid.NewString(), uuid.NewString()
	sinkSaveLink(t, f, company, "project", project, "a-project")
	sinkSaveLink(t, f, company, "time_entry", entry, "a-entry")
	bystander := newCompany()
	addLink(t, f, bystander)
	if _, err := f.svc.Disconnect(ctx, company); err != nil {
		t.Fatal(err)
	}
	orgA, orgB, orgC := f.org.OrganizationID, f.otherOrg(t, "Beta"), f.otherOrg(t, "Gamma")

	_, err := f.svc.Connect(ctx, company, orgB.OrgKey)
	wantOrganizationChanged(t, err, orgA, orgB.OrganizationID, 2)
	// A confirmation for another organization does not count.
	_, err = f.svc.ConnectWith(ctx, company, orgB.OrgKey, connect.Options{StartOver: true, StartOverOrganization: orgC.OrganizationID})
	wantOrganizationChanged(t, err, orgA, orgB.OrganizationID, 2)
	st, _ := f.svc.Status(ctx, company)
	if st.Status != "disconnected" || st.OrganizationID != orgA || countLinks(t, f, company) != 2 ||
		len(f.webhooksOf(t, orgB.OrganizationID)) != 0 || len(retiredLinks(t, f, company)) != 0 {
		t.Fatalf("a refused connect changed something: %+v, %d links", st, countLinks(t, f, company))
	}

	st, err = f.svc.ConnectWith(ctx, company, orgB.OrgKey, connect.Options{StartOver: true, StartOverOrganization: strings.ToUpper(orgB.OrganizationID)})
	if err != nil || st.Status != "connected" || st.OrganizationID != orgB.OrganizationID {
		t.Fatalf("start over: %+v %v", st, err)
	}
	if _, found := sinkLink(t, f, company, "project", project); found || countLinks(t, f, company) != 0 {
		t.Fatal("the sink still reads a link into the old organization")
	}
	retired := retiredLinks(t, f, company)
	want := []retiredLink{{orgA, orgB.OrganizationID, "project", project, "a-project"}, {orgA, orgB.OrganizationID, "time_entry", entry, "a-entry"}}
	if len(retired) != 2 || retired[0] != want[0] || retired[1] != want[1] {
		t.Fatalf("retired links %+v, want %+v", retired, want)
	}
	if countLinks(t, f, bystander) != 1 {
		t.Fatal("another company's links were touched")
	}
	if hooks := f.webhooksOf(t, orgB.OrganizationID); len(hooks) != 1 {
		t.Fatalf("webhooks in the new organization: %+v", hooks)
	}

	// The sink links the entity anew, in B; reconnecting to B keeps that link.
	sinkSaveLink(t, f, company, "project", project, "b-project")
	k2, err := f.ctl.MintKey(ctx, orgB.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeOrganization})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Connect(ctx, company, k2.Key); err != nil {
		t.Fatalf("reconnecting to the same organization: %v", err)
	}
	if id, _ := sinkLink(t, f, company, "project", project); id != "b-project" || len(retiredLinks(t, f, company)) != 2 {
		t.Fatalf("after a same-organization reconnect the link is %q, %d retired", id, len(retiredLinks(t, f, company)))
	}
}

// Starting over while connected: the working connection stays until the
// admin confirms; then the old organization's webhook is deleted with the old
// key and the sync position stays.
func TestStartOverWhileConnected(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	before, _ := f.row(t, company)
	addLink(t, f, company)
	orgB := f.otherOrg(t, "Beta")

	_, err := f.svc.Connect(ctx, company, orgB.OrgKey)
	wantOrganizationChanged(t, err, f.org.OrganizationID, orgB.OrganizationID, 1)
	if key, err := f.svc.APIKey(ctx, company); err != nil || key != f.org.OrgKey {
		t.Fatalf("the working key was replaced by a refused one (%v)", err)
	}
	if len(f.webhooksOf(t, f.org.OrganizationID)) != 1 || len(f.webhooksOf(t, orgB.OrganizationID)) != 0 {
		t.Fatal("a refused connect touched a webhook")
	}

	if _, err := f.svc.ConnectWith(ctx, company, orgB.OrgKey, connect.Options{StartOver: true}); err != nil {
		t.Fatal(err)
	}
	after, _ := f.row(t, company)
	if *after.LSN != *before.LSN {
		t.Fatalf("connected_lsn moved %s → %s: changes not yet synced would be skipped", *before.LSN, *after.LSN)
	}
	if len(f.webhooksOf(t, f.org.OrganizationID)) != 0 || len(f.webhooksOf(t, orgB.OrganizationID)) != 1 {
		t.Fatal("the old organization's webhook was not replaced by one in the new organization")
	}
	if countLinks(t, f, company) != 0 || len(retiredLinks(t, f, company)) != 1 {
		t.Fatal("links not retired")
	}
	if v := f.attempts(t, connect.CodeOrganizationChanged); v != 1 {
		t.Fatalf("organization_changed attempts = %v, want 1", v)
	}
}

// Without links there is nothing to protect: another organization connects
// as a first connect would.
func TestAnotherOrganizationWithoutLinks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	orgB := f.otherOrg(t, "Beta")
	st, err := f.svc.Connect(ctx, company, orgB.OrgKey)
	if err != nil || st.OrganizationID != orgB.OrganizationID {
		t.Fatalf("%+v %v", st, err)
	}
	if len(retiredLinks(t, f, company)) != 0 {
		t.Fatal("links retired that did not exist")
	}
}

// A confirmed start over whose webhook Align refuses: a working connection
// stays as it was (links included); a disconnected one is stored in error in
// the new organization, which its retired links then agree with.
func TestStartOverWebhookRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	company := newCompany()
	if _, err := f.svc.Connect(ctx, company, f.org.OrgKey); err != nil {
		t.Fatal(err)
	}
	addLink(t, f, company)
	orgB := f.otherOrg(t, "Beta")
	noHooks, err := f.ctl.MintKey(ctx, orgB.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeOrganization,
		Permissions: []string{alignsim.PermReadProject}})
	if err != nil {
		t.Fatal(err)
	}
	start := connect.Options{StartOver: true}
	_, err = f.svc.ConnectWith(ctx, company, noHooks.Key, start)
	var fail *connect.Failure
	if !errors.As(err, &fail) || fail.Code != connect.CodeWebhookFailed {
		t.Fatalf("got %v, want %s", err, connect.CodeWebhookFailed)
	}
	if st, _ := f.svc.Status(ctx, company); st.Status != "connected" || st.OrganizationID != f.org.OrganizationID ||
		countLinks(t, f, company) != 1 || len(retiredLinks(t, f, company)) != 0 {
		t.Fatalf("a refused start over changed the working connection: %+v", st)
	}

	if _, err := f.svc.Disconnect(ctx, company); err != nil {
		t.Fatal(err)
	}
	if _, err = f.svc.ConnectWith(ctx, company, noHooks.Key, start); !errors.As(err, &fail) || fail.Code != connect.CodeWebhookFailed {
		t.Fatalf("got %v, want %s", err, connect.CodeWebhookFailed)
	}
	st, _ := f.svc.Status(ctx, company)
	if st.Status != "error" || st.OrganizationID != orgB.OrganizationID || countLinks(t, f, company) != 0 ||
		len(retiredLinks(t, f, company)) != 1 {
		t.Fatalf("status %+v, %d links, %d retired", st, countLinks(t, f, company), len(retiredLinks(t, f, company)))
	}
}
