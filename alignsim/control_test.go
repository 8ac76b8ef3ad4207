package alignsim

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestFaultSettingsMerge(t *testing.T) {
	e := newEnv(t)
	got, err := e.ctl.Faults(e.ctx)
	want := FaultSettings{Status: 503, RateLimitPerMinute: 600}
	if err != nil || got != want {
		t.Fatalf("defaults %+v %v, want %+v", got, err, want)
	}
	got, err = e.ctl.SetFaults(e.ctx, Faults{ErrorRate: Ptr(0.05), ReorderWebhooks: Ptr(true)})
	want.ErrorRate, want.ReorderWebhooks = 0.05, true
	if err != nil || got != want {
		t.Fatalf("after merge %+v %v, want %+v", got, err, want)
	}
	got, err = e.ctl.SetFaults(e.ctx, Faults{Status: Ptr(502)})
	want.Status = 502
	if err != nil || got != want {
		t.Fatalf("second merge %+v %v, want %+v", got, err, want)
	}
	bad := []Faults{
		{ErrorRate: Ptr(1.5)},
		{Status: Ptr(404)},
		{RateLimitPerMinute: Ptr(0)},
		{DropWebhooks: Ptr(-0.1)},
		{LatencyMs: Ptr(-1)},
		{ErrorRate: Ptr(0.5), Status: Ptr(200)}, // nothing applies when one field is bad
	}
	for _, f := range bad {
		var ce *ControlError
		if _, err := e.ctl.SetFaults(e.ctx, f); !errors.As(err, &ce) || ce.StatusCode != 400 || ce.Code != codeValidation {
			t.Errorf("%+v: %v, want 400 validation_error", f, err)
		}
	}
	if got, _ := e.ctl.Faults(e.ctx); got != want {
		t.Errorf("a rejected merge changed settings: %+v", got)
	}
}

func TestWebhookSchedule(t *testing.T) {
	e := newEnv(t)
	got, err := e.ctl.WebhookSchedule(e.ctx)
	if err != nil || !reflect.DeepEqual(got, []int{5000, 30000, 120000, 600000, 3600000}) {
		t.Fatalf("default schedule %v %v", got, err)
	}
	if err := e.ctl.SetWebhookSchedule(e.ctx, []int{100, 200, 400}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.ctl.WebhookSchedule(e.ctx); !reflect.DeepEqual(got, []int{100, 200, 400}) {
		t.Errorf("schedule %v", got)
	}
	if err := e.ctl.SetWebhookSchedule(e.ctx, nil); err != nil {
		t.Errorf("no retries at all: %v", err)
	}
	if err := e.ctl.SetWebhookSchedule(e.ctx, []int{-1}); err == nil {
		t.Error("a negative delay was accepted")
	}
	res := e.as("").sim("PUT", "/webhook-schedule", `{}`)
	expectError(t, res, 400, codeValidation)
}

func TestMintKeyValidation(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	tests := []struct {
		name       string
		orgID      string
		req        KeyRequest
		wantStatus int
	}{
		{"org key", f.org.OrganizationID, KeyRequest{Scope: ScopeOrganization, Name: "ci"}, 0},
		{"project key", f.org.OrganizationID, KeyRequest{Scope: ScopeProject, ProjectID: f.projectID}, 0},
		{"empty permissions", f.org.OrganizationID, KeyRequest{Scope: ScopeOrganization, Permissions: []string{}}, 0},
		{"no scope", f.org.OrganizationID, KeyRequest{}, 400},
		{"project key without project", f.org.OrganizationID, KeyRequest{Scope: ScopeProject}, 400},
		{"project of nowhere", f.org.OrganizationID, KeyRequest{Scope: ScopeProject, ProjectID: "6f1c1f1e-0000-4000-8000-000000000000"}, 400},
		{"org key with project", f.org.OrganizationID, KeyRequest{Scope: ScopeOrganization, ProjectID: f.projectID}, 400},
		{"unknown permission", f.org.OrganizationID, KeyRequest{Scope: ScopeOrganization, Permissions: []string{"write:users"}}, 400},
		{"unknown org", "6f1c1f1e-0000-4000-8000-000000000000", KeyRequest{Scope: ScopeOrganization}, 404},
	}
	for _, tt := range tests {
		k, err := e.ctl.MintKey(e.ctx, tt.orgID, tt.req)
		var ce *ControlError
		switch {
		case tt.wantStatus == 0 && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantStatus == 0 && len(k.Key) < 36:
			t.Errorf("%s: key %q", tt.name, k.Key)
		case tt.wantStatus != 0 && (!errors.As(err, &ce) || ce.StatusCode != tt.wantStatus):
			t.Errorf("%s: %v, want %d", tt.name, err, tt.wantStatus)
		}
	}
	noPerms, _ := e.ctl.MintKey(e.ctx, f.org.OrganizationID, KeyRequest{Scope: ScopeOrganization, Permissions: []string{}})
	expectError(t, e.as(noPerms.Key).do("GET", "/projects", nil), http.StatusForbidden, codeInsufficientPermission)
}

func TestManagerActionErrors(t *testing.T) {
	e := newEnv(t)
	var ce *ControlError
	if _, err := e.ctl.Approve(e.ctx, "6f1c1f1e-0000-4000-8000-000000000000"); !errors.As(err, &ce) || ce.StatusCode != 404 {
		t.Errorf("approving nothing: %v", err)
	}
	if err := e.ctl.RevokeKey(e.ctx, "6f1c1f1e-0000-4000-8000-000000000000"); !errors.As(err, &ce) || ce.StatusCode != 404 {
		t.Errorf("revoking nothing: %v", err)
	}
	f := e.fixture(true)
	en := f.entry("m-1", 30)
	f.submit(en.ID)
	expectError(t, e.as("").sim("POST", "/time-entries/"+en.ID+"/reject", `{"reason":42}`), 400, codeValidation)
	if _, err := e.ctl.Reject(e.ctx, en.ID, "no"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ctl.Reject(e.ctx, en.ID, "again"); !errors.As(err, &ce) || ce.StatusCode != 409 || ce.Code != codeInvalidTransition {
		t.Errorf("rejecting twice: %v", err)
	}
}

func TestStateDump(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	f.api.must(201, "POST", "/projects/"+f.projectID+"/wiki-pages", map[string]any{"title": "T"}, nil)
	rcv := newReceiver(t, always(200))
	f.webhook(rcv.srv.URL, "time.submitted")
	en := f.entry("s-1", 30)
	f.submit(en.ID)
	other, _ := e.newOrg(false)
	waitFor(t, "delivery", func() bool {
		ds := e.deliveries(f.org.OrganizationID)
		return len(ds) == 1 && ds[0].Delivered
	})
	st := e.state(f.org.OrganizationID)
	if len(st.Projects) != 1 || len(st.Users) != 2 || len(st.Members) != 1 || len(st.TimeEntries) != 1 ||
		len(st.WikiPages) != 1 || len(st.IntegrationLinks) != 1 || len(st.Webhooks) != 1 || len(st.Deliveries) != 1 {
		t.Errorf("state %+v", st)
	}
	if te := st.TimeEntries[0]; te.ID != en.ID || te.Status != "submitted" || te.Hours != "0.5" || te.CreatedAt.IsZero() {
		t.Errorf("entry %+v", te)
	}
	if m := st.Members[0]; m.ProjectID != f.projectID || m.UserID != f.userID || m.Role != "user" {
		t.Errorf("member %+v", m)
	}
	if d := st.Deliveries[0]; d.EventName != "time.submitted" || d.TimeEntryID != en.ID || d.Attempts != 1 || d.LastStatus != 200 {
		t.Errorf("delivery %+v", d)
	}
	all, err := e.ctl.States(e.ctx)
	if err != nil || len(all) != 2 || len(all[other.OrganizationID].Users) != 1 || len(all[f.org.OrganizationID].TimeEntries) != 1 {
		t.Errorf("all states %v: %+v", err, all)
	}
	raw := e.as("").sim("GET", "/state?org="+other.OrganizationID, "")
	if string(raw.body) == "" || raw.status != 200 {
		t.Fatalf("raw state %d", raw.status)
	}
	var lists map[string][]any
	raw.decode(t, &lists)
	for _, k := range []string{"projects", "users", "members", "timeEntries", "wikiPages", "integrationLinks", "webhooks", "deliveries"} {
		if lists[k] == nil {
			t.Errorf("state of an empty org: %q is not a list", k)
		}
	}
	expectError(t, e.as("").sim("GET", "/state?org=6f1c1f1e-0000-4000-8000-000000000000", ""), 404, codeNotFound)
}

func TestReset(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	e.setFaults(Faults{ErrorRate: Ptr(0.5), RateLimitPerMinute: Ptr(10)})
	if err := e.ctl.SetWebhookSchedule(e.ctx, []int{1}); err != nil {
		t.Fatal(err)
	}
	if err := e.ctl.Reset(e.ctx); err != nil {
		t.Fatal(err)
	}
	all, err := e.ctl.States(e.ctx)
	if err != nil || len(all) != 0 {
		t.Errorf("after reset: %v %v", all, err)
	}
	if got, _ := e.ctl.Faults(e.ctx); got != (FaultSettings{Status: 503, RateLimitPerMinute: 600}) {
		t.Errorf("faults after reset %+v", got)
	}
	if got, _ := e.ctl.WebhookSchedule(e.ctx); len(got) != 5 {
		t.Errorf("schedule after reset %v", got)
	}
	expectError(t, f.api.do("GET", "/me", nil), 401, codeUnauthorized)
	if _, api := e.newOrg(true); api.do("GET", "/me", nil).status != 200 {
		t.Error("the simulator does not work after a reset")
	}
}

func TestControlClientAPIBaseURL(t *testing.T) {
	if got := NewControl("http://127.0.0.1:8089/", nil).APIBaseURL(); got != "http://127.0.0.1:8089/api/v1" {
		t.Errorf("APIBaseURL %q", got)
	}
}
