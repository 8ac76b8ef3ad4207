package alignsim

import (
	"bytes"
	"testing"
	"time"
)

func TestExternalRefReplays(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	ref := func(id string) map[string]any {
		return map[string]any{"provider": "illumera", "externalType": "thing", "externalId": id}
	}
	tests := []struct {
		name       string
		path       string
		first      map[string]any
		second     map[string]any // same ref, different content
		entityType string
	}{
		{"project", "/projects",
			map[string]any{"name": "P1", "externalRef": ref("p1")},
			map[string]any{"name": "P1 renamed", "externalRef": ref("p1")}, entityProject},
		{"wiki page", "/projects/" + f.projectID + "/wiki-pages",
			map[string]any{"title": "Plan", "content": "v1", "externalRef": ref("w1")},
			map[string]any{"title": "Plan", "content": "v2", "externalRef": ref("w1")}, entityWikiPage},
		{"project time entry", "/projects/" + f.projectID + "/time-entries",
			map[string]any{"userId": f.userID, "workDate": "2026-11-20", "minutes": 30, "externalRef": ref("t1")},
			map[string]any{"userId": f.userID, "workDate": "2026-11-21", "minutes": 90, "externalRef": ref("t1")}, entityTimeEntry},
		{"integration time entry", "/integration/time-entries",
			f.entryBody("i1", 30), f.entryBody("i1", 90), entityTimeEntry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := f.api.must(201, "POST", tt.path, tt.first, nil)
			again := f.api.must(200, "POST", tt.path, tt.second, nil)
			if !bytes.Equal(first.body, again.body) {
				t.Errorf("replay answered\n%s\nwant the unchanged entity\n%s", again.body, first.body)
			}
		})
	}
	st := e.state(f.org.OrganizationID)
	counts := map[string]int{}
	for _, l := range st.IntegrationLinks {
		counts[l.AlignEntityType]++
	}
	if counts[entityProject] != 1 || counts[entityWikiPage] != 1 || counts[entityTimeEntry] != 2 {
		t.Errorf("links per type %v, want one per created entity", counts)
	}
	if len(st.Projects) != 2 || len(st.TimeEntries) != 2 || len(st.WikiPages) != 1 {
		t.Errorf("state has %d projects, %d entries, %d pages", len(st.Projects), len(st.TimeEntries), len(st.WikiPages))
	}
}

func TestExternalRefOfAnotherType(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	ref := map[string]any{"provider": "illumera", "externalType": "x", "externalId": "1"}
	f.api.must(201, "POST", "/projects", map[string]any{"name": "P", "externalRef": ref}, nil)
	res := f.api.do("POST", "/projects/"+f.projectID+"/wiki-pages", map[string]any{"title": "T", "externalRef": ref})
	expectError(t, res, 400, codeValidation)
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	post := func(c client, body, key string) result {
		return c.do("POST", "/projects", body, "Idempotency-Key", key)
	}
	first := post(f.api, `{"name":"Idem","status":"on_hold"}`, "k1")
	if first.status != 201 {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	replay := post(f.api, "{ \"status\" : \"on_hold\",\n \"name\":\"Idem\" }", "k1") // same JSON, other bytes
	if replay.status != 201 || !bytes.Equal(replay.body, first.body) {
		t.Errorf("replay: %d %s, want the cached 201 %s", replay.status, replay.body, first.body)
	}
	expectError(t, post(f.api, `{"name":"Other"}`, "k1"), 422, codeIdempotencyMismatch)
	if res := post(f.api, `{"name":"Other"}`, "k2"); res.status != 201 {
		t.Errorf("new key: %d", res.status)
	}
	other, err := e.ctl.MintKey(e.ctx, f.org.OrganizationID, KeyRequest{Scope: ScopeOrganization})
	if err != nil {
		t.Fatal(err)
	}
	if res := post(e.as(other.Key), `{"name":"Other"}`, "k1"); res.status != 201 {
		t.Errorf("same Idempotency-Key under another API key: %d, want its own 201", res.status)
	}
	if n := len(e.state(f.org.OrganizationID).Projects); n != 4 {
		t.Errorf("%d projects, want 4 (fixture, Idem, Other twice)", n)
	}
}

func TestIdempotencyCachesErrorsButNotFaults(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	bad := f.api.do("POST", "/projects", `{"name":""}`, "Idempotency-Key", "bad")
	expectError(t, bad, 400, codeValidation)
	again := f.api.do("POST", "/projects", `{"name":""}`, "Idempotency-Key", "bad")
	if again.status != 400 || !bytes.Equal(again.body, bad.body) {
		t.Errorf("cached 400 not replayed: %d %s", again.status, again.body)
	}
	e.setFaults(Faults{ErrorRate: Ptr(1.0)})
	expectError(t, f.api.do("POST", "/projects", `{"name":"F"}`, "Idempotency-Key", "f"), 503, codeInternal)
	e.setFaults(Faults{ErrorRate: Ptr(0.0)})
	if res := f.api.do("POST", "/projects", `{"name":"F"}`, "Idempotency-Key", "f"); res.status != 201 {
		t.Errorf("after a fault the same key must run the request: %d %s", res.status, res.body)
	}
}

func TestIdempotencyExpiresAfter24Hours(t *testing.T) {
	e := newEnv(t)
	clock := &fakeClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	e.sim.useClock(clock)
	f := e.fixture(true)
	f.api.must(201, "POST", "/projects", `{"name":"A"}`, nil)
	first := f.api.do("POST", "/projects", `{"name":"A"}`, "Idempotency-Key", "day")
	clock.advance(24*time.Hour - time.Second)
	if res := f.api.do("POST", "/projects", `{"name":"A"}`, "Idempotency-Key", "day"); !bytes.Equal(res.body, first.body) {
		t.Errorf("within 24 h: %s, want the cached %s", res.body, first.body)
	}
	clock.advance(2 * time.Second)
	if res := f.api.do("POST", "/projects", `{"name":"B"}`, "Idempotency-Key", "day"); res.status != 201 {
		t.Errorf("after 24 h: %d %s, want a fresh 201", res.status, res.body)
	}
}
