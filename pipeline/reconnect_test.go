package pipeline

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
)

// TestDisconnectStopsSyncAndReconnectCreatesNoDuplicates: while disconnected
// nothing is synced; after a reconnect (with a new key of the same org) the
// kept links are reused, so no Align entity is created twice.
func TestDisconnectStopsSyncAndReconnectCreatesNoDuplicates(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	company, org := w.connectCompany("Returning Co")
	f := w.seedEngaged(company)
	w.runSink(Config{})
	w.exec(`UPDATE projects SET status = 'active' WHERE id = $1`, f.project)
	w.exec(`UPDATE engagements SET status = 'accepted' WHERE id = $1`, f.engagement)
	w.waitFor(org, "first sync", func(s alignsim.State) bool { return len(s.Members) == 1 && len(s.WikiPages) == 1 })

	if _, err := w.conns.Disconnect(ctx, company); err != nil {
		t.Fatal(err)
	}
	offline := uuid.NewString()
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'While away', 'draft')`, offline, company)
	w.exec(`UPDATE projects SET title = 'Radar (renamed while away)' WHERE id = $1`, f.project)

	key, err := w.env.Align.Control.MintKey(ctx, org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeOrganization, Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.conns.Connect(ctx, company, key.Key); err != nil {
		t.Fatalf("reconnecting: %v", err)
	}
	entry := uuid.NewString()
	w.exec(`INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-24', 60, 'submitted')`, entry, company, f.engagement, f.project, f.talent)
	w.exec(`UPDATE projects SET description = 'after reconnect' WHERE id = $1`, f.project)

	st := w.waitFor(org, "entry after reconnect", func(s alignsim.State) bool {
		e, ok := entryByExternalID(s, entry)
		return ok && e.Status == "submitted" && len(s.Projects) == 1 && s.Projects[0].Description != nil && *s.Projects[0].Description == "after reconnect"
	})
	if len(st.Projects) != 1 || len(st.Users) != 2 || len(st.Members) != 1 || len(st.WikiPages) != 1 || len(st.TimeEntries) != 1 {
		t.Fatalf("after reconnect Align holds %d projects, %d users, %d members, %d pages, %d entries; want 1, 2 (with the manager), 1, 1, 1",
			len(st.Projects), len(st.Users), len(st.Members), len(st.WikiPages), len(st.TimeEntries))
	}
	if st.Projects[0].Name != "Radar (renamed while away)" {
		// The rename happened while disconnected; the next update carries the current title.
		t.Fatalf("project name = %q, want the current title", st.Projects[0].Name)
	}
	var n int
	_ = w.env.Pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.outbox WHERE entity_id = $1`, offline).Scan(&n)
	if n != 0 {
		t.Fatalf("the project inserted while disconnected has %d operations, want none", n)
	}
}

// seedEngaged writes a draft project with a role and an invited engagement
// after the company connected.
func (w *world) seedEngaged(company string) fixture {
	f := fixture{company: company, project: uuid.NewString(), talent: uuid.NewString(), engagement: uuid.NewString()}
	f.email = "dev-" + f.talent[:8] + "@example.com"
	w.exec(`INSERT INTO talent (id, email, full_name) VALUES ($1, $2, 'Ada Lovelace')`, f.talent, f.email)
	w.exec(`INSERT INTO projects (id, company_id, title, description, status) VALUES ($1, $2, 'Radar', 'Build it', 'draft')`, f.project, company)
	w.exec(`INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks) VALUES ($1, $2, 'Go engineer', 40, 12)`, f.project, company)
	w.exec(`INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 9000, 'invited')`,
		f.engagement, company, f.project, f.talent)
	return f
}

// TestKeyRotationIsNotAnError: an admin reconnects with a new key and revokes
// the old one; the sink's cached client still holds the old key, meets a 401,
// reads the key again and carries on: the connection never shows Error.
func TestKeyRotationIsNotAnError(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	company, org := w.connectCompany("Rotating Co")
	w.runSink(Config{})
	first := uuid.NewString()
	w.exec(`INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'First', 'draft')`, first, company)
	w.waitFor(org, "first project", func(s alignsim.State) bool { return len(s.Projects) == 1 })

	key, err := w.env.Align.Control.MintKey(ctx, org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeOrganization, Name: "rotated"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.conns.Connect(ctx, company, key.Key); err != nil {
		t.Fatal(err)
	}
	revokeOrgKey(t, w.harness, org)
	w.exec(`INSERT INTO projects (company_id, title, status) VALUES ($1, 'Second', 'draft')`, company)
	w.waitFor(org, "second project with the new key", func(s alignsim.State) bool { return len(s.Projects) == 2 })
	st, err := w.conns.Status(ctx, company)
	if err != nil || st.Status != "connected" {
		t.Fatalf("connection after rotation = %+v (%v), want connected", st, err)
	}
	w.waitOutbox(company, "both projects done", func(c map[string]int) bool { return c["done"] == 2 && len(c) == 1 })
}
