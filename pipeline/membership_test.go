package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
)

// opState is where the ledger's operation of kind on an entity stands.
type opState struct {
	found, blocked bool
	status         string
}

func (w *world) opState(company string, kind translate.Kind, entityID string) opState {
	w.t.Helper()
	var s opState
	err := w.env.Pool.QueryRow(context.Background(), `SELECT status, blocked_by IS NOT NULL FROM align_sync.outbox
		WHERE company_id = $1 AND op = $2 AND entity_id = $3 ORDER BY id DESC LIMIT 1`, company, string(kind), entityID).
		Scan(&s.status, &s.blocked)
	s.found = err == nil
	return s
}

// waitOp polls the last operation of kind on an entity until ok.
func (w *world) waitOp(company string, kind translate.Kind, entityID, what string, ok func(opState) bool) opState {
	w.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s := w.opState(company, kind, entityID)
		if s.found && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s; %s of %s: %+v", what, kind, entityID, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isDone(s opState) bool { return s.status == string(ledger.Done) }

// engagedProject writes an active project and a talent, and returns their ids.
func (w *world) engagedProject(company, email string) (project, talent string) {
	project, talent = uuid.NewString(), uuid.NewString()
	w.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Katherine Johnson')`, talent, email)
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Orbit', 'active')`, project, company)
	return project, talent
}

func (w *world) engage(company, project, talent, status string) string {
	id := uuid.NewString()
	w.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 9000, $5)`,
		id, company, project, talent, status)
	return id
}

// Issue 13, point 1: a talent with two live engagements on one project (a
// role change done as a new engagement) stays a member when one ends.
func TestMemberStaysWhileAnotherEngagementLasts(t *testing.T) {
	w := newWorld(t)
	company, org := w.connectCompany("Two Roles Co")
	w.runSink(Config{})
	project, talent := w.engagedProject(company, "kj@example.com")
	first := w.engage(company, project, talent, "accepted")
	second := w.engage(company, project, talent, "invited")
	w.exec(`UPDATE engagements SET status = 'accepted' WHERE id = $1`, second)
	w.waitOp(company, translate.MemberAdd, second, "the second engagement's member add", isDone)
	w.waitFor(org, "the talent a member", func(s alignsim.State) bool { return len(s.Members) == 1 })

	w.exec(`UPDATE engagements SET status = 'ended' WHERE id = $1`, first)
	w.waitOp(company, translate.MemberRemove, first, "the first engagement's removal", isDone)
	st, err := w.env.Align.Control.State(context.Background(), org.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 1 {
		t.Fatalf("after the first of two engagements ended Align has %d members, want the talent still a member", len(st.Members))
	}

	w.exec(`UPDATE engagements SET status = 'ended' WHERE id = $1`, second)
	w.waitFor(org, "the member removed with the last engagement", func(s alignsim.State) bool { return len(s.Members) == 0 })
}

// Issue 13, point 2: an engagement inserted as, or moved from invited to,
// active provisions the user and adds the member as accepted does; accepted
// → active calls for nothing.
func TestEngagementStraightToActive(t *testing.T) {
	w := newWorld(t)
	company, org := w.connectCompany("Fast Start Co")
	w.runSink(Config{})
	project, inserted := w.engagedProject(company, "inserted@example.com")
	moved, later := uuid.NewString(), uuid.NewString()
	w.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, 'moved@example.com', 'Moved'), ($2, 'later@example.com', 'Later')`, moved, later)
	w.engage(company, project, inserted, "active")
	invited := w.engage(company, project, moved, "invited")
	w.exec(`UPDATE engagements SET status = 'active' WHERE id = $1`, invited)
	accepted := w.engage(company, project, later, "accepted")
	w.exec(`UPDATE engagements SET status = 'active' WHERE id = $1`, accepted)

	st := w.waitFor(org, "three developers on the project", func(s alignsim.State) bool { return len(s.Members) == 3 })
	emails := map[string]bool{}
	for _, u := range st.Users {
		if u.Role == "developer" {
			emails[u.Email] = true
		}
	}
	if len(emails) != 3 || !emails["inserted@example.com"] || !emails["moved@example.com"] {
		t.Fatalf("developers provisioned: %v, want the three talents", emails)
	}
	// A later change has its operations done: the accepted → active one,
	// recorded before it, recorded nothing.
	sentinel := uuid.NewString()
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Sentinel', 'draft')`, sentinel, company)
	w.waitOp(company, translate.ProjectCreate, sentinel, "the sentinel project", isDone)
	var n int
	if err := w.env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.outbox
		WHERE company_id = $1 AND entity_id IN ($2, $3)`, company, accepted, later).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("the engagement accepted, then active, has %d operations, want 2 (invite and add, on acceptance only)", n)
	}
}

// Issue 13, the demo's ordering defect: a member removal runs only after the
// earlier operations of entries that use the membership, even parked ones;
// otherwise the entry, retried, would make the talent a member again.
func TestMemberRemovalWaitsForParkedEntries(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	company, org := w.connectCompany("Incident Co")
	w.runSink(Config{})
	project, talent := w.engagedProject(company, "parked@example.com")
	eng := w.engage(company, project, talent, "accepted")
	w.waitFor(org, "the talent a member", func(s alignsim.State) bool { return len(s.Members) == 1 })

	revokeOrgKey(t, w.harness, org)
	entry := uuid.NewString()
	w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-24', 60, 'submitted')`, entry, company, eng, project, talent)
	w.waitOp(company, translate.EntryCreate, entry, "the entry parked with the key refused",
		func(s opState) bool { return s.status == string(ledger.Failed) })

	key, err := w.env.Align.Control.MintKey(ctx, org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeOrganization, Name: "fresh"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.conns.Connect(ctx, company, key.Key); err != nil {
		t.Fatalf("reconnecting: %v", err)
	}
	w.exec(`UPDATE engagements SET status = 'ended' WHERE id = $1`, eng)
	s := w.waitOp(company, translate.MemberRemove, eng, "the removal run or held back",
		func(s opState) bool { return isDone(s) || s.blocked })
	if isDone(s) {
		t.Fatal("the member was removed while an entry of the engagement was parked")
	}

	if _, err := ledger.RetryFailed(ctx, w.env.Pool, company); err != nil {
		t.Fatal(err)
	}
	w.waitOutbox(company, "everything done after Retry Failed", func(c map[string]int) bool { return c["done"] > 0 && len(c) == 1 })
	st, err := w.env.Align.Control.State(ctx, org.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := entryByExternalID(st, entry); !ok || len(st.Members) != 0 {
		t.Fatalf("Align has the entry: %v, and %d members; want the entry and no member (the engagement ended)", ok, len(st.Members))
	}
}

// The blocking rule: a use key held by an earlier operation blocks only the
// operations that depend on it.
func TestBlockerOfUseKeys(t *testing.T) {
	use := "uses:membership:p1/t1"
	blocked := map[string]int64{}
	holdKeys(blocked, []string{"entry:x1", use}, 1)
	entry := ledger.Row{ID: 2, Op: ledger.Op{Touches: []string{"entry:x2", use}, DependsOn: []string{"member:e1"}}}
	removal := ledger.Row{ID: 3, Op: ledger.Op{Touches: []string{"member:e1"}, DependsOn: []string{"project:p1", use}}}
	same := ledger.Row{ID: 4, Op: ledger.Op{Touches: []string{"entry:x1", use}}}
	if got := blockerOf(blocked, entry); got != 0 {
		t.Fatalf("a later entry of the engagement waits for #%d; uses must not wait for each other", got)
	}
	if got := blockerOf(blocked, removal); got != 1 {
		t.Fatalf("the removal waits for #%d, want #1 (an earlier use of the membership)", got)
	}
	if got := blockerOf(blocked, same); got != 1 {
		t.Fatalf("a later operation of the same entry waits for #%d, want #1", got)
	}
}
