package alignsim

import (
	"testing"
)

func TestInvite(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true) // ada@example.com is a member of f.projectID
	second := f.createProject("Second")
	ref := func(id string) map[string]any {
		return map[string]any{"provider": "illumera", "externalType": "talent", "externalId": id}
	}
	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantState  string // invite status
		wantUser   string // "ada" for the fixture's user, "" for a new one
	}{
		{"new, invited", map[string]any{"email": "bob@example.com", "name": "Bob", "externalRef": ref("bob")}, 201, inviteInvited, ""},
		{"new, no invite", map[string]any{"email": "cy@example.com", "name": "Cy", "sendInvite": false}, 201, inviteLinked, ""},
		{"email again, other case", map[string]any{"email": "ADA@example.com", "name": "Ada L", "projectIds": []string{second}, "externalRef": ref("ada")}, 200, inviteExisting, "ada"},
		{"externalRef again", map[string]any{"email": "someone@example.com", "name": "X", "externalRef": ref("ada")}, 200, inviteExisting, "ada"},
		{"externalRef wins over email", map[string]any{"email": "bob@example.com", "name": "X", "externalRef": ref("ada")}, 200, inviteExisting, "ada"},
		{"admin role", map[string]any{"email": "eve@example.com", "name": "Eve", "role": "admin"}, 400, "", ""},
		{"platform_admin role", map[string]any{"email": "eve@example.com", "name": "Eve", "role": "platform_admin"}, 400, "", ""},
		{"unknown role", map[string]any{"email": "eve@example.com", "name": "Eve", "role": "boss"}, 400, "", ""},
		{"bad email", map[string]any{"email": "Eve <eve@example.com>", "name": "Eve"}, 400, "", ""},
		{"unknown project", map[string]any{"email": "eve@example.com", "name": "Eve", "projectIds": []string{"6f1c1f1e-0000-4000-8000-000000000000"}}, 400, "", ""},
		{"metadata not an object", map[string]any{"email": "eve@example.com", "name": "Eve", "metadata": "x"}, 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.api.do("POST", "/users/invite", tt.body)
			if tt.wantStatus == 400 {
				expectError(t, res, 400, codeValidation)
				return
			}
			var got inviteView
			res.decode(t, &got)
			if res.status != tt.wantStatus || got.Status != tt.wantState || got.Created != (tt.wantStatus == 201) {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if (got.InviteID != nil) != (tt.wantState == inviteInvited) {
				t.Errorf("inviteId %v for status %s", got.InviteID, got.Status)
			}
			if tt.wantUser == "ada" && got.UserID != f.userID {
				t.Errorf("matched user %s, want the fixture's %s", got.UserID, f.userID)
			}
		})
	}
	st := e.state(f.org.OrganizationID)
	if len(st.Users) != 4 { // manager, ada, bob, cy
		t.Errorf("%d users, want 4", len(st.Users))
	}
	var adaMemberships, adaLinks int
	for _, m := range st.Members {
		if m.UserID == f.userID {
			adaMemberships++
		}
	}
	for _, l := range st.IntegrationLinks {
		if l.AlignEntityID == f.userID {
			adaLinks++
		}
	}
	if adaMemberships != 2 || adaLinks != 1 {
		t.Errorf("ada has %d memberships and %d links, want 2 and 1", adaMemberships, adaLinks)
	}
	for _, u := range st.Users {
		if u.ID == f.userID && (u.Name != "Ada" || u.Email != "ada@example.com") {
			t.Errorf("an existing user changed: %+v", u)
		}
	}
	var users page[userView]
	f.api.must(200, "GET", "/users", nil, &users)
	if users.Total != 4 || users.Data[0].ID != f.org.ManagerUserID || users.Data[0].Role != "manager" {
		t.Errorf("GET /users: %+v", users)
	}
}

func TestMembers(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	var inv inviteView
	f.api.must(201, "POST", "/users/invite", map[string]any{"email": "dev@example.com", "name": "Dev", "role": "developer"}, &inv)
	path := "/projects/" + f.projectID + "/members"
	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantRole   string
	}{
		{"add with org role", map[string]any{"userId": inv.UserID}, 201, "developer"},
		{"again", map[string]any{"userId": inv.UserID}, 200, "developer"},
		{"change role", map[string]any{"userId": inv.UserID, "role": "tech_lead"}, 200, "tech_lead"},
		{"again without role keeps it", map[string]any{"userId": inv.UserID}, 200, "tech_lead"},
		{"unknown user", map[string]any{"userId": "6f1c1f1e-0000-4000-8000-000000000000"}, 400, ""},
		{"admin role", map[string]any{"userId": inv.UserID, "role": "admin"}, 400, ""},
		{"missing user", map[string]any{}, 400, ""},
	}
	for _, tt := range tests {
		res := f.api.do("POST", path, tt.body)
		if tt.wantStatus == 400 {
			expectError(t, res, 400, codeValidation)
			continue
		}
		var m memberView
		res.decode(t, &m)
		if res.status != tt.wantStatus || m.Role != tt.wantRole || m.UserID != inv.UserID {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
		}
	}
	var list page[memberView]
	f.api.must(200, "GET", path, nil, &list)
	if list.Total != 2 {
		t.Errorf("%d members, want 2", list.Total)
	}
	f.api.must(204, "DELETE", path+"/"+inv.UserID, nil, nil)
	expectError(t, f.api.do("DELETE", path+"/"+inv.UserID, nil), 404, codeNotFound)
	f.api.must(200, "GET", path, nil, &list)
	if list.Total != 1 {
		t.Errorf("%d members after delete, want 1", list.Total)
	}
}

func TestProjects(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	var p projectView
	f.api.must(200, "GET", "/projects/"+f.projectID, nil, &p)
	if p.Status != "active" || p.TimeBillingEnabled || p.Description != nil {
		t.Errorf("defaults: %+v", p)
	}
	f.api.must(200, "PATCH", "/projects/"+f.projectID, `{"status":"on_hold","description":"d","timeBillingEnabled":true}`, &p)
	if p.Status != "on_hold" || !p.TimeBillingEnabled || p.Description == nil || p.Name != "Apollo" {
		t.Errorf("patched: %+v", p)
	}
	expectError(t, f.api.do("PATCH", "/projects/"+f.projectID, `{"status":"paused"}`), 400, codeValidation)
	expectError(t, f.api.do("GET", "/projects/6f1c1f1e-0000-4000-8000-000000000000", nil), 404, codeNotFound)
	_, otherAPI := e.newOrg(true)
	expectError(t, otherAPI.do("GET", "/projects/"+f.projectID, nil), 404, codeNotFound) // tenants stay apart
}
