package alignsim

import (
	"strings"
	"testing"
)

// TestErrorPrecedence walks the order of align-contract.md §1: 401 → 429 →
// Idempotency-Key cache → injected fault → 404 path / 405 → 403 → 404
// entity → 402 → 400 → externalRef replay → 409. Each case has the two
// adjacent errors both apply and checks that the earlier one wins.
func TestErrorPrecedence(t *testing.T) {
	const absent = "6f1c1f1e-0000-4000-8000-000000000000"
	tests := []struct {
		name       string
		setup      func(e *env, f fixture, noTT fixture) result
		wantStatus int
		wantCode   string
	}{
		{"401 before 429", func(e *env, f, _ fixture) result {
			e.setFaults(Faults{RateLimitPerMinute: Ptr(1)})
			f.api.do("GET", "/me", nil)
			return e.as("ako_unknown").do("GET", "/me", nil)
		}, 401, codeUnauthorized},
		{"401 before 404 path", func(e *env, _, _ fixture) result {
			return e.as("").do("GET", "/nowhere", nil)
		}, 401, codeUnauthorized},
		{"429 before 404 path", func(e *env, f, _ fixture) result {
			e.setFaults(Faults{RateLimitPerMinute: Ptr(1)})
			f.api.do("GET", "/me", nil)
			return f.api.do("GET", "/nowhere", nil)
		}, 429, codeRateLimit},
		{"429 before idempotency cache", func(e *env, f, _ fixture) result {
			f.api.do("POST", "/projects", `{"name":"x"}`, "Idempotency-Key", "k")
			e.setFaults(Faults{RateLimitPerMinute: Ptr(1)})
			return f.api.do("POST", "/projects", `{"name":"x"}`, "Idempotency-Key", "k")
		}, 429, codeRateLimit},
		{"idempotency cache before fault", func(e *env, f, _ fixture) result {
			f.api.do("POST", "/projects", `{"name":"x"}`, "Idempotency-Key", "k")
			e.setFaults(Faults{ErrorRate: Ptr(1.0)})
			return f.api.do("POST", "/projects", `{"name":"x"}`, "Idempotency-Key", "k")
		}, 201, ""},
		{"idempotency mismatch before fault", func(e *env, f, _ fixture) result {
			f.api.do("POST", "/projects", `{"name":"x"}`, "Idempotency-Key", "k")
			e.setFaults(Faults{ErrorRate: Ptr(1.0)})
			return f.api.do("POST", "/projects", `{"name":"y"}`, "Idempotency-Key", "k")
		}, 422, codeIdempotencyMismatch},
		{"fault before 404 path", func(e *env, f, _ fixture) result {
			e.setFaults(Faults{ErrorRate: Ptr(1.0)})
			return f.api.do("GET", "/nowhere", nil)
		}, 503, codeInternal},
		{"404 path before 403", func(e *env, f, _ fixture) result {
			return e.projectKey(f.org, f.projectID, nil).do("GET", "/users/nowhere", nil)
		}, 404, codeNotFound},
		{"405 before 403", func(e *env, f, _ fixture) result {
			return e.projectKey(f.org, f.projectID, nil).do("DELETE", "/projects", nil)
		}, 405, codeMethodNotAllowed},
		{"403 before 404 entity", func(e *env, f, _ fixture) result {
			return e.projectKey(f.org, f.projectID, nil).do("GET", "/projects/"+absent, nil)
		}, 403, codeScopeViolation},
		{"403 before 400: another project's time entry", func(e *env, f, _ fixture) result {
			return e.projectKey(f.org, f.createProject("Own"), nil).do("PATCH", "/time-entries/"+f.entry("e", 30).ID, `{"minutes":0}`)
		}, 403, codeScopeViolation},
		{"403 before 400: another project's wiki page", func(e *env, f, _ fixture) result {
			var page wikiView
			f.api.must(201, "POST", "/projects/"+f.projectID+"/wiki-pages", map[string]any{"title": "T"}, &page)
			return e.projectKey(f.org, f.createProject("Own"), nil).do("PATCH", "/wiki-pages/"+page.ID, `{"title":""}`)
		}, 403, codeScopeViolation},
		{"404 entity before 402", func(_ *env, _, noTT fixture) result {
			return noTT.api.do("POST", "/projects/"+absent+"/time-entries", `{}`)
		}, 404, codeNotFound},
		{"404 entity before 400", func(_ *env, f, _ fixture) result {
			return f.api.do("PATCH", "/time-entries/"+absent, `{"minutes":0}`)
		}, 404, codeNotFound},
		{"402 before 400", func(_ *env, _, noTT fixture) result {
			return noTT.api.do("POST", "/integration/time-entries", `{not json`)
		}, 402, codeFeatureDisabled},
		{"402 before 400 on a project's entries", func(_ *env, _, noTT fixture) result {
			return noTT.api.do("POST", "/projects/"+noTT.projectID+"/time-entries", `{}`)
		}, 402, codeFeatureDisabled},
		{"400 before replay", func(_ *env, f, _ fixture) result {
			f.entry("dup", 30)
			body := f.entryBody("dup", 30)
			body["workDate"] = "2026-13-01"
			return f.api.do("POST", "/integration/time-entries", body)
		}, 400, codeValidation},
		{"replay before 409", func(e *env, f, _ fixture) result {
			en := f.entry("dup", 30)
			f.submit(en.ID)
			if _, err := e.ctl.Approve(e.ctx, en.ID); err != nil {
				e.t.Fatal(err)
			}
			return f.api.do("POST", "/integration/time-entries", f.entryBody("dup", 30))
		}, 200, ""},
		{"400 before 409", func(e *env, f, _ fixture) result {
			en := f.entry("e", 30)
			f.submit(en.ID)
			return f.api.do("PATCH", "/time-entries/"+en.ID, `{"minutes":0}`)
		}, 400, codeValidation},
		{"reject: 400 before 409", func(e *env, f, _ fixture) result {
			en := f.entry("e", 30) // a draft cannot be rejected, and the reason is missing
			return e.as("").sim("POST", "/time-entries/"+en.ID+"/reject", `{}`)
		}, 400, codeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			f := e.fixture(true)
			noTT := e.fixture(false)
			res := tt.setup(e, f, noTT)
			if tt.wantCode == "" {
				if res.status != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
				}
				return
			}
			expectError(t, res, tt.wantStatus, tt.wantCode)
		})
	}
}

// sim calls the control API.
func (c client) sim(method, path string, body string) result {
	c.e.t.Helper()
	req, err := newRequest(method, c.e.srv.URL+controlPrefix+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return c.e.send(req)
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	tests := []struct {
		method, path string
		wantStatus   int
		wantCode     string
	}{
		{"GET", "/nowhere", 404, codeNotFound},
		{"GET", "/projects/not-a-uuid", 404, codeNotFound},
		{"GET", "/projects/" + strings.ReplaceAll(f.projectID, "-", ""), 404, codeNotFound},
		{"GET", "/projects/" + f.projectID + "/nowhere", 404, codeNotFound},
		{"GET", "/projects/", 404, codeNotFound},
		{"DELETE", "/projects", 405, codeMethodNotAllowed},
		{"PUT", "/projects/" + f.projectID, 405, codeMethodNotAllowed},
		{"GET", "/users/invite", 405, codeMethodNotAllowed},
		{"GET", "/projects/" + strings.ToUpper(f.projectID), 200, ""},
	}
	for _, tt := range tests {
		res := f.api.do(tt.method, tt.path, nil)
		if tt.wantCode == "" {
			if res.status != tt.wantStatus {
				t.Errorf("%s %s: %d %s", tt.method, tt.path, res.status, res.body)
			}
			continue
		}
		if res.status != tt.wantStatus || res.errorCode(t) != tt.wantCode {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, res.status, res.body, tt.wantStatus, tt.wantCode)
		}
	}
	if allow := f.api.do("DELETE", "/projects", nil).header.Get("Allow"); allow != "GET, POST" {
		t.Errorf("Allow %q, want GET, POST", allow)
	}
	expectError(t, e.as("").sim("GET", "/nowhere", ""), 404, codeNotFound)
	expectError(t, e.as("").sim("DELETE", "/faults", ""), 405, codeMethodNotAllowed)
}

func TestMalformedBodies(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	tests := []struct {
		name, path, body, wantInMessage string
	}{
		{"malformed JSON", "/projects", `{"name":`, "body"},
		{"not an object", "/projects", `["name"]`, "body"},
		{"null body", "/projects", `null`, "body"},
		{"name wrong type", "/projects", `{"name":42}`, "name"},
		{"missing name", "/projects", `{}`, "name"},
		{"bad status", "/projects", `{"name":"x","status":"paused"}`, "status"},
		{"billing wrong type", "/projects", `{"name":"x","timeBillingEnabled":"yes"}`, "timeBillingEnabled"},
		{"externalRef incomplete", "/projects", `{"name":"x","externalRef":{"provider":"p","externalType":"t"}}`, "externalRef.externalId"},
		{"externalRef wrong type", "/projects", `{"name":"x","externalRef":"p:t:1"}`, "externalRef"},
		{"minutes as string", "/integration/time-entries", `{"minutes":"90"}`, "projectId"},
		{"minutes as string, rest valid", "/integration/time-entries",
			`{"projectId":"` + f.projectID + `","userId":"` + f.userID + `","workDate":"2026-11-20","minutes":"90","externalSystem":"s","externalId":"1"}`, "minutes"},
		{"minutes fractional", "/integration/time-entries",
			`{"projectId":"` + f.projectID + `","userId":"` + f.userID + `","workDate":"2026-11-20","minutes":1.5,"externalSystem":"s","externalId":"1"}`, "minutes"},
		{"bad entryId", "/integration/time-entries",
			`{"projectId":"` + f.projectID + `","userId":"` + f.userID + `","workDate":"2026-11-20","minutes":15,"entryId":"T-1","externalSystem":"s","externalId":"1"}`, "entryId"},
		{"description too long", "/integration/time-entries",
			`{"projectId":"` + f.projectID + `","userId":"` + f.userID + `","workDate":"2026-11-20","minutes":15,"description":"` + strings.Repeat("é", 2001) + `","externalSystem":"s","externalId":"1"}`, "description"},
		{"unknown project", "/integration/time-entries",
			`{"projectId":"6f1c1f1e-0000-4000-8000-000000000000","userId":"` + f.userID + `","workDate":"2026-11-20","minutes":15,"externalSystem":"s","externalId":"1"}`, "projectId"},
		{"unknown user", "/integration/time-entries",
			`{"projectId":"` + f.projectID + `","userId":"6f1c1f1e-0000-4000-8000-000000000000","workDate":"2026-11-20","minutes":15,"externalSystem":"s","externalId":"1"}`, "userId"},
		{"webhook bad url", "/webhooks", `{"destinationUrl":"not a url","eventNames":["time.submitted"]}`, "destinationUrl"},
		{"webhook unknown event", "/webhooks", `{"destinationUrl":"http://x.test/h","eventNames":["time.created"]}`, "eventNames"},
		{"webhook no events", "/webhooks", `{"destinationUrl":"http://x.test/h","eventNames":[]}`, "eventNames"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.api.do("POST", tt.path, tt.body)
			expectError(t, res, 400, codeValidation)
			if msg := res.errorMessage(t); !strings.HasPrefix(msg, tt.wantInMessage) {
				t.Errorf("message %q does not start with the field %q", msg, tt.wantInMessage)
			}
		})
	}
}

func TestUnknownFieldsAreIgnored(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	f.api.must(201, "POST", "/projects", `{"name":"x","colour":"blue","nested":{"a":[1]}}`, nil)
}
