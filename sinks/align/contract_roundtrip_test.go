package align_test

import (
	"testing"

	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/sinks/align"
)

// roundTripFixture is an org with two projects and a user who is a member of the first.
func roundTripFixture(t *testing.T) (f *fixture, p, other align.Project, userID string) {
	f = newFixture(t, true)
	p, other = f.project("Round trip"), f.project("Elsewhere")
	return f, p, other, f.member(p.ID, "rt@example.com")
}

func TestContractProjectsRoundTrip(t *testing.T) {
	f, p, _, _ := roundTripFixture(t)
	ctx := f.ctx
	name, status, billing := "Renamed", align.ProjectOnHold, true
	got, err := f.client.UpdateProject(ctx, p.ID, align.UpdateProjectRequest{Name: &name, Status: &status, TimeBillingEnabled: &billing})
	if err != nil || got.Name != name || got.Status != status || !got.TimeBillingEnabled || got.Description != "" {
		t.Errorf("UpdateProject = %+v, %v", got, err)
	}
	if got, err = f.client.GetProject(ctx, p.ID); err != nil || got.Name != name {
		t.Errorf("GetProject = %+v, %v", got, err)
	}
	_, err = f.client.GetProject(ctx, "00000000-0000-0000-0000-000000000000")
	wantAPIError(t, "unknown project", err, 404, align.CodeNotFound)
}

func TestContractUsersAndMembersRoundTrip(t *testing.T) {
	f, _, other, u := roundTripFixture(t)
	ctx := f.ctx
	users, err := align.Collect(f.client.ListUsers(ctx))
	if err != nil || len(users) != 2 { // the org's manager and the invited user
		t.Errorf("ListUsers = %+v, %v", users, err)
	}
	if _, _, err := f.client.AddMember(ctx, f.op(), other.ID, align.AddMemberRequest{UserID: u, Role: align.RoleTester}); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	members, err := align.Collect(f.client.ListMembers(ctx, other.ID))
	if err != nil || len(members) != 1 || members[0].UserID != u || members[0].Role != align.RoleTester {
		t.Errorf("ListMembers = %+v, %v", members, err)
	}
	if err := f.client.RemoveMember(ctx, other.ID, u); err != nil {
		t.Errorf("RemoveMember: %v", err)
	}
	if err := f.client.RemoveMember(ctx, other.ID, u); !align.IsNotFound(err) {
		t.Errorf("RemoveMember of a non-member = %v, want 404", err)
	}
	_, _, err = f.client.AddMember(ctx, f.op(), other.ID, align.AddMemberRequest{UserID: "00000000-0000-0000-0000-000000000000"})
	wantAPIError(t, "unknown user", err, 400, align.CodeValidation)
}

func TestContractTimeEntriesRoundTrip(t *testing.T) {
	f, p, other, u := roundTripFixture(t)
	ctx := f.ctx
	meta := map[string]any{"rateCents": 9000}
	e, _, err := f.client.CreateIntegrationTimeEntry(ctx, f.op(), align.CreateIntegrationTimeEntryRequest{
		ProjectID: p.ID, UserID: u, WorkDate: "2026-11-02", Minutes: 90, ExternalSystem: "illumera",
		ExternalID: "rt-1", ExternalMetadata: meta, Description: "work",
	})
	if err != nil || e.CostCents == nil || *e.CostCents != 13500 || !e.Billable || e.ExternalID != "rt-1" {
		t.Fatalf("CreateIntegrationTimeEntry = %+v, %v", e, err)
	}
	if _, _, err := f.entry(p.ID, u, "rt-2", 30); err != nil { // workDate 2026-11-20
		t.Fatal(err)
	}
	full, err := f.client.GetIntegrationTimeEntry(ctx, e.ID)
	if err != nil || len(full.IntegrationLinks) != 1 || full.IntegrationLinks[0].ExternalID != "rt-1" {
		t.Errorf("GetIntegrationTimeEntry = %+v, %v", full, err)
	}
	if _, err := f.client.SubmitTimeEntry(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	filters := []struct {
		f    align.TimeEntryFilter
		want int
	}{
		{align.TimeEntryFilter{}, 2},
		{align.TimeEntryFilter{ProjectID: p.ID, StartDate: "2026-11-02", EndDate: "2026-11-02"}, 1},
		{align.TimeEntryFilter{Status: align.StatusSubmitted}, 1},
		{align.TimeEntryFilter{ExternalSystem: "other"}, 0},
		{align.TimeEntryFilter{ProjectID: other.ID}, 0},
	}
	for _, tt := range filters {
		got, err := align.Collect(f.client.ListTimeEntries(ctx, tt.f))
		if err != nil || len(got) != tt.want {
			t.Errorf("ListTimeEntries(%+v) = %d, %v; want %d", tt.f, len(got), err, tt.want)
		}
	}
	got, err := align.Collect(f.client.ListProjectTimeEntries(ctx, p.ID, align.TimeEntryFilter{EndDate: "2026-11-19"}))
	if err != nil || len(got) != 1 || got[0].ID != e.ID {
		t.Errorf("ListProjectTimeEntries = %+v, %v", got, err)
	}
}

func TestContractWikiPagesRoundTrip(t *testing.T) {
	f, p, _, _ := roundTripFixture(t)
	ctx := f.ctx
	page, _, err := f.client.CreateWikiPage(ctx, f.op(), p.ID, align.CreateWikiPageRequest{Title: "Brief"})
	if err != nil {
		t.Fatal(err)
	}
	content := "# Scope"
	page, err = f.client.UpdateWikiPage(ctx, page.ID, align.UpdateWikiPageRequest{Content: &content})
	if err != nil || page.Content != content || page.Title != "Brief" {
		t.Errorf("UpdateWikiPage = %+v, %v", page, err)
	}
	pages, err := align.Collect(f.client.ListWikiPages(ctx, p.ID))
	if err != nil || len(pages) != 1 {
		t.Errorf("ListWikiPages = %+v, %v", pages, err)
	}
}

func TestContractWebhooksRoundTrip(t *testing.T) {
	f, _, _, _ := roundTripFixture(t)
	ctx := f.ctx
	hook, err := f.client.CreateWebhook(ctx, f.op(), align.CreateWebhookRequest{
		DestinationURL: "http://127.0.0.1:1/hook",
		EventNames:     []string{ingest.EventTimeSubmitted, ingest.EventTimeApproved, ingest.EventTimeRejected, ingest.EventTimeLocked, ingest.EventTimeInvoiced},
	})
	if err != nil || hook.HMACSecret == "" || hook.ID == "" {
		t.Fatalf("CreateWebhook = %+v, %v", hook, err)
	}
	hooks, err := align.Collect(f.client.ListWebhooks(ctx))
	if err != nil || len(hooks) != 1 || hooks[0].HMACSecret != "" || len(hooks[0].EventNames) != 5 {
		t.Errorf("ListWebhooks = %+v, %v", hooks, err)
	}
	if err := f.client.DeleteWebhook(ctx, hook.ID); err != nil {
		t.Errorf("DeleteWebhook: %v", err)
	}
	if err := f.client.DeleteWebhook(ctx, hook.ID); !align.IsNotFound(err) {
		t.Errorf("deleting twice = %v, want 404", err)
	}
	_, err = f.client.CreateWebhook(ctx, f.op(), align.CreateWebhookRequest{DestinationURL: "http://127.0.0.1:1/x", EventNames: []string{"time.nope"}})
	wantAPIError(t, "unknown event name", err, 400, align.CodeValidation)
}
