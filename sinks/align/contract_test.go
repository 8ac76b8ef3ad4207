package align_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/sinks/align"
)

// These tests run the client against the simulator over loopback. The two sides share nothing
// but the contract (docs/align-contract.md), so a failure here is a misreading on one side or the other.

const workDate = "2026-11-20"

func TestContractHoursRounding(t *testing.T) {
	f := newFixture(t, true)
	p := f.project("Hours")
	u := f.member(p.ID, "hours@example.com")
	tests := []struct {
		minutes   int
		wantHours string // empty: refused with 400
	}{
		{10, "0.25"}, {45, "0.75"}, {100, "1.75"}, {150, "2.5"}, {1, "0.25"}, {60, "1"}, {1440, "24"},
		{0, ""}, {1441, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.minutes), func(t *testing.T) {
			e, created, err := f.entry(p.ID, u, fmt.Sprintf("hours-%d", tt.minutes), tt.minutes)
			if tt.wantHours == "" {
				wantAPIError(t, "out-of-range minutes", err, 400, align.CodeValidation)
				return
			}
			if err != nil || !created {
				t.Fatalf("creating entry: created %v, %v", created, err)
			}
			if e.Hours != tt.wantHours || e.Minutes != tt.minutes || e.Status != align.StatusDraft {
				t.Errorf("entry hours %q minutes %d status %s, want %q %d draft", e.Hours, e.Minutes, e.Status, tt.wantHours, tt.minutes)
			}
			if got := align.HoursFromMinutes(tt.minutes); got != e.Hours {
				t.Errorf("HoursFromMinutes(%d) = %q, Align says %q", tt.minutes, got, e.Hours)
			}
		})
	}
}

func TestContractProjectKeyRefusedOnOrgOnlyEndpoints(t *testing.T) {
	f := newFixture(t, true)
	own, other := f.project("Own"), f.project("Other")
	u := f.member(own.ID, "scoped@example.com")
	hook, err := f.client.CreateWebhook(f.ctx, f.op(), align.CreateWebhookRequest{
		DestinationURL: "http://127.0.0.1:1/hook", EventNames: []string{ingest.EventTimeApproved},
	})
	if err != nil {
		t.Fatalf("creating webhook: %v", err)
	}
	key, err := f.ctl.MintKey(f.ctx, f.org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeProject, ProjectID: own.ID, Name: "scoped"})
	if err != nil {
		t.Fatalf("minting project key: %v", err)
	}
	pc := f.newClient(key.Key, nil)
	ctx := f.ctx
	name := "renamed"
	refused := map[string]func() error{
		"POST /projects": func() error {
			_, _, err := pc.CreateProject(ctx, f.op(), align.CreateProjectRequest{Name: "X"})
			return err
		},
		"PATCH /projects/:id": func() error {
			_, err := pc.UpdateProject(ctx, own.ID, align.UpdateProjectRequest{Name: &name})
			return err
		},
		"GET /time-entries": func() error { _, err := align.Collect(pc.ListTimeEntries(ctx, align.TimeEntryFilter{})); return err },
		"GET /users":        func() error { _, err := align.Collect(pc.ListUsers(ctx)); return err },
		"POST /users/invite": func() error {
			_, err := pc.InviteUser(ctx, f.op(), align.InviteUserRequest{Email: "x@example.com", Name: "X"})
			return err
		},
		"GET /webhooks": func() error { _, err := align.Collect(pc.ListWebhooks(ctx)); return err },
		"POST /webhooks": func() error {
			_, err := pc.CreateWebhook(ctx, f.op(), align.CreateWebhookRequest{DestinationURL: "http://127.0.0.1:1/x", EventNames: []string{ingest.EventTimeApproved}})
			return err
		},
		"DELETE /webhooks/:id": func() error { return pc.DeleteWebhook(ctx, hook.ID) },
		"POST /integration/time-entries": func() error {
			_, _, err := pc.CreateIntegrationTimeEntry(ctx, f.op(), align.CreateIntegrationTimeEntryRequest{
				ProjectID: own.ID, UserID: u, WorkDate: workDate, Minutes: 30, ExternalSystem: "illumera", ExternalID: "scoped-1"})
			return err
		},
		"POST /projects/:id/members": func() error {
			_, _, err := pc.AddMember(ctx, f.op(), own.ID, align.AddMemberRequest{UserID: u})
			return err
		},
		"DELETE /projects/:id/members/:userId": func() error { return pc.RemoveMember(ctx, own.ID, u) },
		"GET /projects/:id of another project": func() error { _, err := pc.GetProject(ctx, other.ID); return err },
	}
	for route, call := range refused {
		t.Run(route, func(t *testing.T) {
			wantAPIError(t, route, call(), 403, align.CodeScopeViolation)
		})
	}
	t.Run("allowed on its own project", func(t *testing.T) {
		projects, err := align.Collect(pc.ListProjects(ctx))
		if err != nil || len(projects) != 1 || projects[0].ID != own.ID {
			t.Errorf("ListProjects = %v, %v; want only %s", projects, err, own.ID)
		}
		if _, err := pc.GetProject(ctx, own.ID); err != nil {
			t.Errorf("GetProject(own): %v", err)
		}
		me, err := pc.Me(ctx)
		if err != nil || me.Scope != align.ScopeProject || me.ScopedProjectID != own.ID {
			t.Errorf("Me = %+v, %v", me, err)
		}
	})
}

func TestContractRevokedKey(t *testing.T) {
	f := newFixture(t, true)
	key, err := f.ctl.MintKey(f.ctx, f.org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeOrganization, Name: "to revoke"})
	if err != nil {
		t.Fatalf("minting key: %v", err)
	}
	c := f.newClient(key.Key, nil)
	me, err := c.Me(f.ctx)
	if err != nil || me.APIKeyID != key.APIKeyID || me.OrganizationID != f.org.OrganizationID || me.Permissions != nil {
		t.Fatalf("Me before revoking = %+v, %v", me, err)
	}
	if err := f.ctl.RevokeKey(f.ctx, key.APIKeyID); err != nil {
		t.Fatalf("revoking: %v", err)
	}
	before := f.obs.count("GET /me", -1)
	_, err = c.Me(f.ctx)
	wantAPIError(t, "revoked key", err, 401, align.CodeKeyRevoked)
	if !align.IsAuthFailure(err) || !align.IsKeyRevoked(err) || align.Retryable(err) {
		t.Errorf("revoked key error %v: auth %v revoked %v retryable %v", err, align.IsAuthFailure(err), align.IsKeyRevoked(err), align.Retryable(err))
	}
	if got := f.obs.count("GET /me", -1) - before; got != 1 {
		t.Errorf("attempts with a revoked key = %d, want 1", got)
	}
	unknown := f.newClient("ako_unknownunknownunknownunknownunknown", nil)
	_, err = unknown.Me(f.ctx)
	wantAPIError(t, "unknown key", err, 401, align.CodeUnauthorized)
}

func TestContractExternalRefReplaysReturnTheSameEntity(t *testing.T) {
	f := newFixture(t, true)
	ctx := f.ctx
	ref := func(typ, id string) *align.ExternalRef {
		return &align.ExternalRef{Provider: "illumera", ExternalType: typ, ExternalID: id}
	}
	p1, created1, err1 := f.client.CreateProject(ctx, f.op(), align.CreateProjectRequest{Name: "First", ExternalRef: ref("project", "p-1")})
	p2, created2, err2 := f.client.CreateProject(ctx, f.op(), align.CreateProjectRequest{Name: "Second", ExternalRef: ref("project", "p-1")})
	if err1 != nil || err2 != nil || !created1 || created2 || p1.ID != p2.ID || p2.Name != "First" {
		t.Errorf("project replay: %v/%v created %v/%v ids %s/%s name %q", err1, err2, created1, created2, p1.ID, p2.ID, p2.Name)
	}

	inv := align.InviteUserRequest{Email: "Ann@Example.com", Name: "Ann", ExternalRef: ref("talent", "t-1")}
	u1, err1 := f.client.InviteUser(ctx, f.op(), inv)
	inv.Email, inv.Name = "ann@example.com", "Ann B"
	u2, err2 := f.client.InviteUser(ctx, f.op(), inv)
	if err1 != nil || err2 != nil || !u1.Created || u2.Created || u2.Status != align.InviteExisting || u1.UserID != u2.UserID {
		t.Errorf("invite replay: %+v %v / %+v %v", u1, err1, u2, err2)
	}

	m1, mc1, err1 := f.client.AddMember(ctx, f.op(), p1.ID, align.AddMemberRequest{UserID: u1.UserID})
	m2, mc2, err2 := f.client.AddMember(ctx, f.op(), p1.ID, align.AddMemberRequest{UserID: u1.UserID})
	if err1 != nil || err2 != nil || !mc1 || mc2 || m1.UserID != u1.UserID || m2.UserID != u1.UserID {
		t.Errorf("member replay: %+v %v %v / %+v %v %v", m1, mc1, err1, m2, mc2, err2)
	}

	first, second := "first", "second"
	w1, wc1, err1 := f.client.CreateWikiPage(ctx, f.op(), p1.ID, align.CreateWikiPageRequest{Title: "Brief", Content: &first, ExternalRef: ref("project_brief", "p-1")})
	w2, wc2, err2 := f.client.CreateWikiPage(ctx, f.op(), p1.ID, align.CreateWikiPageRequest{Title: "Brief 2", Content: &second, ExternalRef: ref("project_brief", "p-1")})
	if err1 != nil || err2 != nil || !wc1 || wc2 || w1.ID != w2.ID || w2.Content != "first" || w2.Title != "Brief" {
		t.Errorf("wiki replay: %+v %v %v / %+v %v %v", w1, wc1, err1, w2, wc2, err2)
	}

	e1, ec1, err1 := f.entry(p1.ID, u1.UserID, "te-1", 30)
	e2, ec2, err2 := f.entry(p1.ID, u1.UserID, "te-1", 90)
	if err1 != nil || err2 != nil || !ec1 || ec2 || e1.ID != e2.ID || e2.Minutes != 30 {
		t.Errorf("time entry replay: %+v %v %v / %+v %v %v", e1, ec1, err1, e2, ec2, err2)
	}

	for _, tt := range []struct {
		ref        align.ExternalRef
		entityType string
		entityID   string
	}{
		{*ref("project", "p-1"), align.EntityProject, p1.ID},
		{*ref("talent", "t-1"), align.EntityUser, u1.UserID},
		{*ref("project_brief", "p-1"), align.EntityWikiPage, w1.ID},
		{align.ExternalRef{Provider: "illumera", ExternalType: align.EntityTimeEntry, ExternalID: "te-1"}, align.EntityTimeEntry, e1.ID},
	} {
		l, ok, err := f.client.FindLink(ctx, tt.ref)
		if err != nil || !ok || l.AlignEntityType != tt.entityType || l.AlignEntityID != tt.entityID {
			t.Errorf("FindLink(%+v) = %+v %v %v, want %s %s", tt.ref, l, ok, err, tt.entityType, tt.entityID)
		}
	}
	if _, ok, err := f.client.FindLink(ctx, *ref("project", "absent")); ok || err != nil {
		t.Errorf("FindLink(absent) = %v, %v", ok, err)
	}
}

func TestContractIdempotencyKeyReplayAndMismatch(t *testing.T) {
	f := newFixture(t, true)
	key := f.op()
	p1, created1, err1 := f.client.CreateProject(f.ctx, key, align.CreateProjectRequest{Name: "Idem"})
	p2, created2, err2 := f.client.CreateProject(f.ctx, key, align.CreateProjectRequest{Name: "Idem"})
	if err1 != nil || err2 != nil || p1.ID != p2.ID || !created1 || !created2 {
		t.Errorf("replay: %s created %v %v / %s created %v %v; want the cached 201 twice", p1.ID, created1, err1, p2.ID, created2, err2)
	}
	before := f.obs.count("POST /projects", -1)
	_, _, err := f.client.CreateProject(f.ctx, key, align.CreateProjectRequest{Name: "Different"})
	wantAPIError(t, "same key, other body", err, 422, align.CodeIdempotencyMismatch)
	if align.Retryable(err) || f.obs.count("POST /projects", -1)-before != 1 {
		t.Errorf("mismatch must not be retried: retryable %v", align.Retryable(err))
	}
	st, err := f.ctl.State(f.ctx, f.org.OrganizationID)
	if err != nil || len(st.Projects) != 1 {
		t.Errorf("projects in Align = %d (%v), want 1", len(st.Projects), err)
	}
}

func TestContractPaginationOf250(t *testing.T) {
	f := newFixture(t, true)
	for i := range 250 {
		f.project(fmt.Sprintf("Project %03d", i))
	}
	projects, err := align.Collect(f.client.ListProjects(f.ctx))
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range projects {
		seen[p.ID] = true
	}
	if len(projects) != 250 || len(seen) != 250 {
		t.Errorf("listed %d projects (%d distinct), want 250", len(projects), len(seen))
	}
	if got := f.obs.count("GET /projects", 200); got != 3 {
		t.Errorf("pages fetched = %d, want 3", got)
	}
}

func TestContractRateLimit(t *testing.T) {
	t.Run("injected 429 is waited out", func(t *testing.T) {
		f := newFixture(t, true)
		if _, err := f.ctl.SetFaults(f.ctx, alignsim.Faults{ErrorRate: alignsim.Ptr(1.0), Status: alignsim.Ptr(429)}); err != nil {
			t.Fatalf("setting faults: %v", err)
		}
		// The first 429 lifts the fault, so only waiting out its Retry-After leads to success.
		c := f.newClient(f.org.OrgKey, func(cfg *align.Config) {
			cfg.Observe = func(route string, status int, d time.Duration) {
				f.obs.add(route, status, d)
				if status == 429 {
					if _, err := f.ctl.SetFaults(f.ctx, alignsim.Faults{ErrorRate: alignsim.Ptr(0.0)}); err != nil {
						t.Errorf("lifting faults: %v", err)
					}
				}
			}
		})
		if _, err := c.Me(f.ctx); err != nil {
			t.Fatalf("Me: %v", err)
		}
		if n429, n200 := f.obs.count("GET /me", 429), f.obs.count("GET /me", 200); n429 != 1 || n200 != 1 {
			t.Errorf("attempts: %d×429 %d×200, want 1 and 1", n429, n200)
		}
	})
	t.Run("sliding window 429 carries Retry-After", func(t *testing.T) {
		f := newFixture(t, true)
		if _, err := f.ctl.SetFaults(f.ctx, alignsim.Faults{RateLimitPerMinute: alignsim.Ptr(2)}); err != nil {
			t.Fatalf("setting faults: %v", err)
		}
		// Waiting out a window of up to a minute is too slow for a unit test, so the client is
		// told to hand long waits back, as the pipeline's parking relies on.
		c := f.newClient(f.org.OrgKey, func(cfg *align.Config) { cfg.MaxRetryAfter = time.Millisecond })
		for i := range 2 {
			if _, err := c.Me(f.ctx); err != nil {
				t.Fatalf("call %d within the limit: %v", i+1, err)
			}
		}
		_, err := c.Me(f.ctx)
		wantAPIError(t, "over the limit", err, 429, align.CodeRateLimit)
		t.Logf("simulator's Retry-After: %v", align.RetryAfter(err))
		if ra := align.RetryAfter(err); ra <= 0 || ra > time.Minute || !align.Retryable(err) {
			t.Errorf("429: RetryAfter %v retryable %v, want (0, 1m] and retryable", ra, align.Retryable(err))
		}
		if got := f.obs.count("GET /me", 429); got != 1 {
			t.Errorf("429 attempts = %d, want 1 (the wait goes back to the caller)", got)
		}
	})
}

func TestContract503IsRetriedToSuccess(t *testing.T) {
	f := newFixture(t, true)
	p := f.project("Faulty")
	if _, err := f.ctl.SetFaults(f.ctx, alignsim.Faults{ErrorRate: alignsim.Ptr(0.4), Status: alignsim.Ptr(503)}); err != nil {
		t.Fatalf("setting faults: %v", err)
	}
	c := f.newClient(f.org.OrgKey, func(cfg *align.Config) { cfg.MaxAttempts = 12 })
	for i := range 20 {
		if _, err := c.GetProject(f.ctx, p.ID); err != nil {
			t.Fatalf("GetProject %d: %v", i, err)
		}
		if _, _, err := c.CreateWikiPage(f.ctx, f.op(), p.ID, align.CreateWikiPageRequest{Title: fmt.Sprint("Page ", i)}); err != nil {
			t.Fatalf("CreateWikiPage %d: %v", i, err)
		}
	}
	t.Logf("503s injected and retried: %d", f.obs.count("", 503))
	if got := f.obs.count("", 503); got == 0 {
		t.Error("no 503 was injected; the test proves nothing")
	}
	if _, err := f.ctl.SetFaults(f.ctx, alignsim.Faults{ErrorRate: alignsim.Ptr(0.0)}); err != nil {
		t.Fatalf("lifting faults: %v", err)
	}
	pages, err := align.Collect(f.client.ListWikiPages(f.ctx, p.ID))
	if err != nil || len(pages) != 20 {
		t.Errorf("wiki pages after retried creates = %d (%v), want 20", len(pages), err)
	}
}

func TestContractTimeEntryLifecycle(t *testing.T) {
	f := newFixture(t, true)
	p := f.project("Lifecycle")
	u := f.member(p.ID, "life@example.com")
	e, _, err := f.entry(p.ID, u, "life-1", 60)
	if err != nil {
		t.Fatalf("creating entry: %v", err)
	}
	minutes := 90
	e, err = f.client.UpdateTimeEntry(f.ctx, e.ID, align.UpdateTimeEntryRequest{Minutes: &minutes})
	if err != nil || e.Minutes != 90 || e.Hours != "1.5" {
		t.Fatalf("editing a draft: %+v, %v", e, err)
	}
	if e, err = f.client.SubmitTimeEntry(f.ctx, e.ID); err != nil || e.Status != align.StatusSubmitted {
		t.Fatalf("submitting: %+v, %v", e, err)
	}
	if e, err = f.client.SubmitTimeEntry(f.ctx, e.ID); err != nil || e.Status != align.StatusSubmitted {
		t.Errorf("submitting again should be harmless: %+v, %v", e, err)
	}
	_, err = f.client.UpdateTimeEntry(f.ctx, e.ID, align.UpdateTimeEntryRequest{Minutes: &minutes})
	wantAPIError(t, "editing a submitted entry", err, 409, align.CodeInvalidTransition)
	approved := align.StatusApproved
	_, err = f.client.UpdateTimeEntry(f.ctx, e.ID, align.UpdateTimeEntryRequest{Status: &approved})
	wantAPIError(t, "approving through the API", err, 409, align.CodeInvalidTransition)
	bogus := align.TimeEntryStatus("bogus")
	_, err = f.client.UpdateTimeEntry(f.ctx, e.ID, align.UpdateTimeEntryRequest{Status: &bogus})
	wantAPIError(t, "unknown status", err, 400, align.CodeValidation)

	if _, err := f.ctl.Reject(f.ctx, e.ID, "Wrong project code"); err != nil {
		t.Fatalf("rejecting: %v", err)
	}
	if e, err = f.client.GetTimeEntry(f.ctx, e.ID); err != nil || e.Status != align.StatusRejected || e.RejectionReason != "Wrong project code" {
		t.Fatalf("after reject: %+v, %v", e, err)
	}
	if e, err = f.client.SubmitTimeEntry(f.ctx, e.ID); err != nil || e.Status != align.StatusSubmitted || e.RejectionReason != "" {
		t.Fatalf("resubmitting: %+v, %v", e, err)
	}
	if _, err := f.ctl.Approve(f.ctx, e.ID); err != nil {
		t.Fatalf("approving: %v", err)
	}
	_, err = f.client.SubmitTimeEntry(f.ctx, e.ID)
	wantAPIError(t, "submitting an approved entry", err, 409, align.CodeInvalidTransition)
	if align.Retryable(err) {
		t.Errorf("409 is retryable: %v", err)
	}
}

func TestContractFeatureDisabled(t *testing.T) {
	f := newFixture(t, false)
	p := f.project("No tracking")
	u := f.member(p.ID, "nofeature@example.com")
	_, _, err := f.entry(p.ID, u, "nf-1", 30)
	wantAPIError(t, "time entry without time_tracking", err, 402, align.CodeFeatureDisabled)
	var apiErr *align.APIError
	if !errors.As(err, &apiErr) || apiErr.Reason == nil || *apiErr.Reason != "feature_disabled" {
		t.Errorf("402 reason = %v, want feature_disabled", err)
	}
}
