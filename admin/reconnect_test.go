package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/sinks/align"
)

// syncedCompany is a company connected to the stack's organization whose
// project, talent and engagement the sink already synced there (links as the
// sink writes them).
type syncedCompany struct {
	company, project, talent, engagement string
	alignProject                         string
}

func (s *stack) syncedCompany() syncedCompany {
	s.t.Helper()
	ctx := context.Background()
	var c syncedCompany
	c.company, c.project, c.talent, c.engagement = s.company()
	s.connect(c.company, s.org.OrgKey)
	api, err := align.New(align.Config{BaseURL: s.ctl.APIBaseURL(), APIKey: s.org.OrgKey, MaxAttempts: 1})
	if err != nil {
		s.t.Fatal(err)
	}
	p, _, err := api.CreateProject(ctx, uuid.NewString(), align.CreateProjectRequest{Name: "P"})
	if err != nil {
		s.t.Fatal(err)
	}
	no := false
	u, err := api.InviteUser(ctx, uuid.NewString(), align.InviteUserRequest{Email: uuid.NewString() + "@example.com",
		Name: "Tal Ent", ProjectIDs: []string{p.ID}, SendInvite: &no})
	if err != nil {
		s.t.Fatal(err)
	}
	c.alignProject = p.ID
	s.exec(`INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		VALUES ($1, 'project', $2, $3), ($1, 'user', $4, $5), ($1, 'project_member', $6, $5)`,
		c.company, c.project, p.ID, c.talent, u.UserID, c.engagement)
	return c
}

func (s *stack) linkOf(company, entityType, illumeraID string) string {
	s.t.Helper()
	var id string
	_ = s.pool.QueryRow(context.Background(), `SELECT align_id FROM align_sync.entity_links
		WHERE company_id = $1 AND entity_type = $2 AND illumera_id = $3`, company, entityType, illumeraID).Scan(&id)
	return id
}

func (s *stack) retiredCount(company, orgID string) int {
	s.t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.retired_entity_links
		WHERE company_id = $1 AND organization_id = $2`, company, orgID).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *stack) state(orgID string) alignsim.State {
	s.t.Helper()
	st, err := s.ctl.State(context.Background(), orgID)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// Issue 13 point 3, through the admin API and the real sink: a company synced
// into organization A reconnects with a key of organization B. The API
// refuses with both organization ids until "startOver": true; then the next
// time entry creates its project, user, membership and itself in B, and
// nothing more reaches A.
func TestStartOverInAnotherOrganizationOverHTTP(t *testing.T) {
	s := newStack(t)
	c := s.syncedCompany()
	tok := token(t, c.company, admin.RoleCompanyAdmin)
	orgA := s.org.OrganizationID
	orgB, err := s.ctl.CreateOrg(context.Background(), "Beta", true)
	if err != nil {
		t.Fatal(err)
	}

	var e struct {
		Error struct {
			Code, Message, Fix, PreviousOrganizationID, OrganizationID string
			Links                                                      int
		} `json:"error"`
	}
	code := s.call(http.MethodPut, connPath(c.company), tok, map[string]any{"apiKey": orgB.OrgKey}, &e)
	if code != http.StatusConflict || e.Error.Code != "organization_changed" || e.Error.PreviousOrganizationID != orgA ||
		e.Error.OrganizationID != orgB.OrganizationID || e.Error.Links != 3 {
		t.Fatalf("PUT a key of another organization: %d %+v", code, e)
	}
	for _, org := range []string{orgA, orgB.OrganizationID} {
		if !strings.Contains(e.Error.Message, org) || !strings.Contains(e.Error.Fix, org) {
			t.Fatalf("the refusal does not name organization %s: %+v", org, e.Error)
		}
	}
	var v connectionView
	s.call(http.MethodGet, connPath(c.company), tok, nil, &v)
	if v.Status != "connected" || *v.OrganizationID != orgA || *v.KeyLast4 != s.org.OrgKey[len(s.org.OrgKey)-4:] {
		t.Fatalf("a refused connect changed the connection: %+v", v)
	}

	code = s.call(http.MethodPut, connPath(c.company), tok, map[string]any{"apiKey": orgB.OrgKey, "startOver": true}, &v)
	if code != http.StatusOK || v.Status != "connected" || *v.OrganizationID != orgB.OrganizationID {
		t.Fatalf("start over: %d %+v", code, v)
	}
	if n := s.retiredCount(c.company, orgA); n != 3 {
		t.Fatalf("%d links retired, want 3", n)
	}

	s.startSink()
	entry := s.insertEntry(c.company, c.project, c.talent, c.engagement, 90)
	waitFor(t, "the entry's operation", time.Minute, func() bool { return s.outboxStatus(c.company, entry) == "done" })
	b := s.state(orgB.OrganizationID)
	if len(b.Projects) != 1 || len(b.TimeEntries) != 1 || len(b.Members) != 1 {
		t.Fatalf("organization B holds %d projects, %d entries, %d members; want 1 each", len(b.Projects), len(b.TimeEntries), len(b.Members))
	}
	te := b.TimeEntries[0]
	if te.ExternalID == nil || *te.ExternalID != entry || te.ProjectID != b.Projects[0].ID || te.Minutes != 90 ||
		b.Members[0].ProjectID != te.ProjectID || b.Members[0].UserID != te.UserID {
		t.Fatalf("the entry in B is %+v, members %+v", te, b.Members)
	}
	if got := s.linkOf(c.company, "project", c.project); got != b.Projects[0].ID {
		t.Fatalf("the project links to %s, want B's project %s", got, b.Projects[0].ID)
	}
	if a := s.state(orgA); len(a.Projects) != 1 || len(a.TimeEntries) != 0 || a.Projects[0].ID != c.alignProject {
		t.Fatalf("organization A changed: %d projects, %d entries", len(a.Projects), len(a.TimeEntries))
	}
	assertNoSecret(t, s, s.org.OrgKey, orgB.OrgKey)
}

// Issue 13 point 4, through the admin API and the real sink: PUT with a new
// key while connected replaces the key without a disconnect. A change
// written before the replacement and not yet synced, and one written after,
// both reach Align with the new key after the old one is revoked.
func TestReplaceKeyOverHTTP(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	company := uuid.NewString()
	s.exec(`INSERT INTO companies (id, name) VALUES ($1, 'Rotating Co')`, company)
	old := s.mint(alignsim.KeyRequest{Name: "old"})
	s.connect(company, old.Key)
	lsn := s.connectedLSN(company)
	before := s.insertProject(company, "Before the new key")

	fresh := s.mint(alignsim.KeyRequest{Name: "new"})
	v := s.connect(company, fresh.Key)
	if v.Status != "connected" || *v.KeyLast4 != fresh.Key[len(fresh.Key)-4:] {
		t.Fatalf("replacing the key: %+v", v)
	}
	if got := s.connectedLSN(company); got != lsn {
		t.Fatalf("connected_lsn moved %s → %s: changes written meanwhile would be skipped", lsn, got)
	}
	if hooks := s.state(s.org.OrganizationID).Webhooks; len(hooks) != 1 {
		t.Fatalf("%d webhooks after the replacement, want the one kept", len(hooks))
	}
	if err := s.ctl.RevokeKey(ctx, old.APIKeyID); err != nil {
		t.Fatal(err)
	}
	after := s.insertProject(company, "After the new key")
	s.startSink()
	for _, p := range []string{before, after} {
		waitFor(t, "project "+p, time.Minute, func() bool { return s.outboxStatus(company, p) == "done" })
	}
	if st := s.state(s.org.OrganizationID); len(st.Projects) != 2 {
		t.Fatalf("Align holds %d projects, want 2", len(st.Projects))
	}
	var st connectionView
	s.call(http.MethodGet, connPath(company), token(t, company, admin.RoleCompanyAdmin), nil, &st)
	if st.Status != "connected" {
		t.Fatalf("connection after the replacement: %+v", st)
	}
	assertNoSecret(t, s, old.Key, fresh.Key)
}

func (s *stack) connectedLSN(company string) string {
	s.t.Helper()
	var lsn string
	if err := s.pool.QueryRow(context.Background(), `SELECT connected_lsn::text FROM align_sync.connections WHERE company_id = $1`,
		company).Scan(&lsn); err != nil {
		s.t.Fatal(err)
	}
	return lsn
}
