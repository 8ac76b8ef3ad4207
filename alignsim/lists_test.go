package alignsim

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type page[T any] struct {
	Data     []T `json:"data"`
	Page     int `json:"page"`
	PageSize int `json:"pageSize"`
	Total    int `json:"total"`
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	for i := range 249 { // plus the fixture's project: 250
		f.createProject(fmt.Sprintf("P%03d", i))
	}
	tests := []struct {
		query              string
		wantLen, wantTotal int
		wantPage, wantSize int
	}{
		{"", 50, 250, 1, 50},
		{"?pageSize=100", 100, 250, 1, 100},
		{"?pageSize=100&page=2", 100, 250, 2, 100},
		{"?pageSize=100&page=3", 50, 250, 3, 100},
		{"?pageSize=100&page=4", 0, 250, 4, 100},
		{"?page=5", 50, 250, 5, 50},
		{"?page=99999999999999999", 0, 250, 99999999999999999, 50},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		var got page[projectView]
		f.api.must(200, "GET", "/projects"+tt.query, nil, &got)
		if len(got.Data) != tt.wantLen || got.Total != tt.wantTotal || got.Page != tt.wantPage || got.PageSize != tt.wantSize {
			t.Errorf("%q: len %d total %d page %d size %d", tt.query, len(got.Data), got.Total, got.Page, got.PageSize)
		}
		if tt.wantSize == 100 {
			for _, p := range got.Data {
				seen[p.ID] = true
			}
		}
	}
	if len(seen) != 250 {
		t.Errorf("pages of 100 covered %d distinct projects, want 250", len(seen))
	}
	for _, q := range []string{"?pageSize=101", "?pageSize=0", "?page=0", "?page=x", "?pageSize=-1"} {
		expectError(t, f.api.do("GET", "/projects"+q, nil), 400, codeValidation)
	}
}

func TestEntryListFilters(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	other := f.createProject("Other")
	f.api.must(201, "POST", "/projects/"+other+"/members", map[string]any{"userId": f.userID}, nil)
	mk := func(projectID, date, system, extID string) entryView {
		body := f.entryBody(extID, 30)
		body["projectId"], body["workDate"], body["externalSystem"] = projectID, date, system
		var v entryView
		f.api.must(201, "POST", "/integration/time-entries", body, &v)
		return v
	}
	a := mk(f.projectID, "2026-11-01", "illumera", "a")
	mk(f.projectID, "2026-11-15", "illumera", "b")
	mk(f.projectID, "2026-11-30", "jira", "c")
	mk(other, "2026-11-15", "illumera", "d")
	f.submit(a.ID)
	tests := []struct {
		path string
		want int
	}{
		{"/time-entries", 4},
		{"/time-entries?startDate=2026-11-15", 3},
		{"/time-entries?endDate=2026-11-15", 3},
		{"/time-entries?startDate=2026-11-15&endDate=2026-11-15", 2},
		{"/time-entries?status=submitted", 1},
		{"/time-entries?status=draft", 3},
		{"/time-entries?externalSystem=jira", 1},
		{"/time-entries?projectId=" + other, 1},
		{"/time-entries?projectId=6f1c1f1e-0000-4000-8000-000000000000", 0},
		{"/projects/" + f.projectID + "/time-entries", 3},
		{"/projects/" + f.projectID + "/time-entries?externalSystem=illumera&endDate=2026-11-14", 1},
	}
	for _, tt := range tests {
		var got page[entryView]
		f.api.must(200, "GET", tt.path, nil, &got)
		if got.Total != tt.want || len(got.Data) != tt.want {
			t.Errorf("%s: total %d len %d, want %d", tt.path, got.Total, len(got.Data), tt.want)
		}
	}
	for _, q := range []string{"?startDate=2026-02-30", "?endDate=yesterday", "?status=done", "?projectId=x"} {
		expectError(t, f.api.do("GET", "/time-entries"+q, nil), 400, codeValidation)
	}
}

func TestIntegrationLinks(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	en := f.entry("link-1", 30)
	f.entry("link-2", 30)
	ref := map[string]any{"provider": "illumera", "externalType": "project", "externalId": "p-9"}
	var p projectView
	f.api.must(201, "POST", "/projects", map[string]any{"name": "Linked", "externalRef": ref}, &p)
	tests := []struct {
		query string
		want  int
	}{
		{"", 3},
		{"?provider=illumera", 3},
		{"?externalType=time_entry", 2},
		{"?provider=illumera&externalType=time_entry&externalId=link-1", 1},
		{"?externalId=p-9", 1},
		{"?provider=jira", 0},
	}
	for _, tt := range tests {
		var got page[linkView]
		f.api.must(200, "GET", "/integration-links"+tt.query, nil, &got)
		if got.Total != tt.want {
			t.Errorf("%q: %d links, want %d", tt.query, got.Total, tt.want)
		}
	}
	var one page[linkView]
	f.api.must(200, "GET", "/integration-links?provider=illumera&externalType=project&externalId=p-9", nil, &one)
	if len(one.Data) != 1 || one.Data[0].AlignEntityType != "project" || one.Data[0].AlignEntityID != p.ID {
		t.Errorf("project link: %+v", one.Data)
	}
	var withLinks struct {
		entryView
		IntegrationLinks []linkView `json:"integrationLinks"`
	}
	f.api.must(200, "GET", "/integration/time-entries/"+en.ID, nil, &withLinks)
	if withLinks.ID != en.ID || len(withLinks.IntegrationLinks) != 1 || withLinks.IntegrationLinks[0].ExternalID != "link-1" {
		t.Errorf("integration entry: %+v", withLinks)
	}
	// A project key sees the links of its project's entities only: its
	// entries and pages, its members, and the project itself.
	other := f.createProject("Other")
	xref := func(id string) map[string]any {
		return map[string]any{"provider": "illumera", "externalType": "x", "externalId": id}
	}
	f.api.must(201, "POST", "/projects/"+f.projectID+"/wiki-pages", map[string]any{"title": "In", "externalRef": xref("w-in")}, nil)
	f.api.must(201, "POST", "/projects/"+other+"/wiki-pages", map[string]any{"title": "Out", "externalRef": xref("w-out")}, nil)
	f.api.must(200, "POST", "/users/invite", map[string]any{"email": "ada@example.com", "name": "Ada", "externalRef": xref("u-in")}, nil)
	f.api.must(201, "POST", "/users/invite", map[string]any{"email": "out@example.com", "name": "Out", "externalRef": xref("u-out")}, nil)
	var scoped page[linkView]
	e.projectKey(f.org, f.projectID, nil).must(200, "GET", "/integration-links", nil, &scoped)
	got := map[string]bool{}
	for _, l := range scoped.Data {
		got[l.ExternalID] = true
	}
	want := map[string]bool{"link-1": true, "link-2": true, "w-in": true, "u-in": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("project key sees %v, want %v", got, want)
	}
	ownKey := e.projectKey(f.org, other, nil)
	var own page[linkView]
	ownKey.must(200, "GET", "/integration-links?externalId=p-9", nil, &own)
	if own.Total != 0 {
		t.Errorf("a project key of another project sees the p-9 project link")
	}
}

func TestReplayAcrossProjects(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	other := f.createProject("Other")
	ref := map[string]any{"provider": "illumera", "externalType": "page", "externalId": "1"}
	f.api.must(201, "POST", "/projects/"+other+"/wiki-pages", map[string]any{"title": "T", "externalRef": ref}, nil)
	pk := e.projectKey(f.org, f.projectID, nil)
	res := pk.do("POST", "/projects/"+f.projectID+"/wiki-pages", map[string]any{"title": "T", "externalRef": ref})
	expectError(t, res, 400, codeValidation) // not the other project's page
	f.api.must(200, "POST", "/projects/"+f.projectID+"/wiki-pages", map[string]any{"title": "T", "externalRef": ref}, nil)
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	big := `{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	res := f.api.do("POST", "/projects", big)
	expectError(t, res, 400, codeValidation)
	if msg := res.errorMessage(t); !strings.HasPrefix(msg, "body") {
		t.Errorf("message %q", msg)
	}
}

func TestWikiPages(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	var w wikiView
	f.api.must(201, "POST", "/projects/"+f.projectID+"/wiki-pages", `{"title":"Plan","content":null}`, &w)
	if w.Content != nil || w.ProjectID != f.projectID {
		t.Errorf("created %+v", w)
	}
	f.api.must(200, "PATCH", "/wiki-pages/"+w.ID, `{"content":"# Plan"}`, &w)
	if w.Title != "Plan" || w.Content == nil || *w.Content != "# Plan" {
		t.Errorf("patched %+v", w)
	}
	expectError(t, f.api.do("PATCH", "/wiki-pages/"+w.ID, `{"title":""}`), 400, codeValidation)
	expectError(t, f.api.do("POST", "/projects/"+f.projectID+"/wiki-pages", `{"title":" "}`), 400, codeValidation)
	pk := e.projectKey(f.org, f.projectID, []string{PermWriteWikiPage, PermReadWikiPage})
	pk.must(200, "PATCH", "/wiki-pages/"+w.ID, `{"title":"Plan v2"}`, nil)
	var list page[wikiView]
	pk.must(200, "GET", "/projects/"+f.projectID+"/wiki-pages", nil, &list)
	if list.Total != 1 || list.Data[0].Title != "Plan v2" {
		t.Errorf("list %+v", list)
	}
}
