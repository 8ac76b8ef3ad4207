package alignsim

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	org, _ := e.newOrg(true)
	revoked, err := e.ctl.MintKey(e.ctx, org.OrganizationID, KeyRequest{Scope: ScopeOrganization})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ctl.RevokeKey(e.ctx, revoked.APIKeyID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		hdr        []string
		wantStatus int
		wantCode   string
	}{
		{"bearer", []string{"Authorization", "Bearer " + org.OrgKey}, 200, ""},
		{"x-api-key", []string{"X-API-Key", org.OrgKey}, 200, ""},
		{"no key", nil, 401, codeUnauthorized},
		{"unknown key", []string{"X-API-Key", "ako_nottherealkeynottherealkeynotthere"}, 401, codeUnauthorized},
		{"not bearer", []string{"Authorization", "Basic " + org.OrgKey}, 401, codeUnauthorized},
		{"authorization wins over good x-api-key", []string{"Authorization", "Bearer nope", "X-API-Key", org.OrgKey}, 401, codeUnauthorized},
		{"authorization wins over bad x-api-key", []string{"Authorization", "Bearer " + org.OrgKey, "X-API-Key", "nope"}, 200, ""},
		{"revoked", []string{"Authorization", "Bearer " + revoked.Key}, 401, codeKeyRevoked},
		{"revoked via x-api-key", []string{"X-API-Key", revoked.Key}, 401, codeKeyRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.as("").do("GET", "/me", nil, tt.hdr...)
			if tt.wantCode == "" {
				if res.status != tt.wantStatus {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				return
			}
			expectError(t, res, tt.wantStatus, tt.wantCode)
			if res.header.Get("X-RateLimit-Limit") != "" {
				t.Error("a 401 carries rate-limit headers")
			}
		})
	}
}

func TestMe(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	var me map[string]any
	f.api.must(200, "GET", "/me", nil, &me)
	if me["organizationId"] != f.org.OrganizationID || me["scope"] != "organization" ||
		me["permissions"] != nil || me["scopedProjectId"] != nil || me["createdByUserId"] != f.org.ManagerUserID {
		t.Errorf("org key /me = %v", me)
	}
	if prefix, _ := me["keyPrefix"].(string); prefix != f.org.OrgKey[:12] || !strings.HasPrefix(prefix, "ako_") {
		t.Errorf("keyPrefix %q, want %q", prefix, f.org.OrgKey[:12])
	}
	if len(f.org.OrgKey) < 4+32 {
		t.Errorf("key %d chars long, want ako_ + 32 or more", len(f.org.OrgKey))
	}
	pk := e.projectKey(f.org, f.projectID, []string{PermReadProject})
	pk.must(200, "GET", "/me", nil, &me)
	if me["scope"] != "project" || me["scopedProjectId"] != f.projectID || len(me["permissions"].([]any)) != 1 {
		t.Errorf("project key /me = %v", me)
	}
	if ts, _ := me["lastUsedAt"].(string); len(ts) != len("2026-11-26T10:00:00.000Z") || !strings.HasSuffix(ts, "Z") {
		t.Errorf("lastUsedAt %q is not RFC 3339 UTC with milliseconds", ts)
	}
}

func TestProjectKeyScope(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	other := f.createProject("Other")
	entry := f.entry("scope-1", 60)
	pk := e.projectKey(f.org, f.projectID, nil)
	const absent = "6f1c1f1e-0000-4000-8000-000000000000"
	denied := []struct{ method, path string }{
		{"POST", "/projects"},
		{"GET", "/time-entries"},
		{"GET", "/users"},
		{"POST", "/users/invite"},
		{"GET", "/webhooks"},
		{"POST", "/webhooks"},
		{"DELETE", "/webhooks/" + absent},
		{"POST", "/integration/time-entries"},
		{"PATCH", "/projects/" + f.projectID},
		{"POST", "/projects/" + f.projectID + "/members"},
		{"DELETE", "/projects/" + f.projectID + "/members/" + f.userID},
		{"GET", "/projects/" + other},
		{"GET", "/projects/" + other + "/time-entries"},
		{"POST", "/projects/" + other + "/wiki-pages"},
		{"GET", "/projects/" + absent}, // another project, existing or not
	}
	for _, d := range denied {
		res := pk.do(d.method, d.path, `{"name":"x"}`)
		if res.status != http.StatusForbidden || res.errorCode(t) != codeScopeViolation {
			t.Errorf("%s %s: %d %s, want 403 scope_violation", d.method, d.path, res.status, res.body)
		}
	}
	allowed := []struct{ method, path string }{
		{"GET", "/projects"},
		{"GET", "/projects/" + f.projectID},
		{"GET", "/projects/" + f.projectID + "/members"},
		{"GET", "/projects/" + f.projectID + "/time-entries"},
		{"GET", "/time-entries/" + entry.ID},
		{"GET", "/integration/time-entries/" + entry.ID},
		{"GET", "/integration-links"},
	}
	for _, a := range allowed {
		if res := pk.do(a.method, a.path, nil); res.status != 200 {
			t.Errorf("%s %s: %d %s, want 200", a.method, a.path, res.status, res.body)
		}
	}
	var list listOfProjects
	pk.must(200, "GET", "/projects", nil, &list)
	if list.Total != 1 || list.Data[0].ID != f.projectID {
		t.Errorf("project key lists %+v, want its own project only", list)
	}
}

type listOfProjects struct {
	Data  []projectView `json:"data"`
	Total int           `json:"total"`
}

// A project key naming a time entry or wiki page of another project of its
// organization gets 403 scope_violation (align-contract.md §1: 403 before 404
// unknown entity) and changes nothing; an id that is unknown, or belongs to
// another organization, is a 404.
func TestProjectKeyCannotSeeOtherProjects(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	other := f.createProject("Other")
	f.api.must(201, "POST", "/projects/"+other+"/members", map[string]any{"userId": f.userID}, nil)
	var foreign entryView
	body := f.entryBody("other-1", 30)
	body["projectId"] = other
	f.api.must(201, "POST", "/integration/time-entries", body, &foreign)
	var page wikiView
	f.api.must(201, "POST", "/projects/"+other+"/wiki-pages", map[string]any{"title": "T"}, &page)
	pk := e.projectKey(f.org, f.projectID, nil)
	for _, path := range []string{"/time-entries/" + foreign.ID, "/integration/time-entries/" + foreign.ID} {
		expectError(t, pk.do("GET", path, nil), 403, codeScopeViolation)
	}
	expectError(t, pk.do("PATCH", "/time-entries/"+foreign.ID, `{"description":"x"}`), 403, codeScopeViolation)
	expectError(t, pk.do("PATCH", "/wiki-pages/"+page.ID, `{"title":"x"}`), 403, codeScopeViolation)
	st := e.state(f.org.OrganizationID)
	for _, en := range st.TimeEntries {
		if en.ID == foreign.ID && en.Description != nil {
			t.Fatalf("a refused PATCH changed the entry: %+v", en)
		}
	}
	for _, w := range st.WikiPages {
		if w.ID == page.ID && w.Title != "T" {
			t.Fatalf("a refused PATCH changed the page: %+v", w)
		}
	}

	const absent = "6f1c1f1e-0000-4000-8000-000000000000"
	for _, path := range []string{"/time-entries/" + absent, "/integration/time-entries/" + absent} {
		expectError(t, pk.do("GET", path, nil), 404, codeNotFound)
	}
	expectError(t, pk.do("PATCH", "/wiki-pages/"+absent, `{"title":"x"}`), 404, codeNotFound)
	// Another organization's entity does not exist for this key.
	g := e.fixture(true)
	var elsewhere entryView
	g.api.must(201, "POST", "/integration/time-entries", g.entryBody("elsewhere-1", 30), &elsewhere)
	expectError(t, pk.do("GET", "/time-entries/"+elsewhere.ID, nil), 404, codeNotFound)
}

func TestInsufficientPermission(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	key, err := e.ctl.MintKey(e.ctx, f.org.OrganizationID, KeyRequest{Scope: ScopeOrganization, Permissions: []string{PermReadProject, PermWriteTimeEntry}})
	if err != nil {
		t.Fatal(err)
	}
	c := e.as(key.Key)
	tests := []struct {
		method, path string
		body         any
		wantStatus   int
	}{
		{"GET", "/me", nil, 200},
		{"GET", "/projects", nil, 200},
		{"POST", "/projects", map[string]any{"name": "x"}, 403},
		{"POST", "/users/invite", map[string]any{"email": "b@example.com", "name": "B"}, 403},
		{"GET", "/users", nil, 403},
		{"POST", "/integration/time-entries", f.entryBody("perm-1", 30), 201},
		{"GET", "/time-entries", nil, 403}, // write does not imply read
		{"GET", "/webhooks", nil, 403},
	}
	for _, tt := range tests {
		res := c.do(tt.method, tt.path, tt.body)
		if res.status != tt.wantStatus {
			t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, res.status, res.body, tt.wantStatus)
			continue
		}
		if tt.wantStatus == 403 && res.errorCode(t) != codeInsufficientPermission {
			t.Errorf("%s %s: code %s, want insufficient_permission", tt.method, tt.path, res.errorCode(t))
		}
	}
}
