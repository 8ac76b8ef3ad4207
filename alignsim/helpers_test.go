package alignsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// env is a simulator served over loopback HTTP, as other packages use it.
type env struct {
	t   testing.TB
	sim *Server
	srv *httptest.Server
	ctl *Control
	ctx context.Context
}

func newEnv(t testing.TB) *env {
	t.Helper()
	sim := New(Options{Rand: rand.New(rand.NewPCG(1, 2))})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	return &env{t: t, sim: sim, srv: srv, ctl: NewControl(srv.URL, srv.Client()), ctx: context.Background()}
}

// client calls the Align API with one key.
type client struct {
	e   *env
	key string
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) as(key string) client { return client{e: e, key: key} }

// do sends body as is when it is a string or []byte, else as JSON. hdr is
// a list of header name, value pairs; a key is sent as Bearer unless hdr
// sets Authorization or X-API-Key itself.
func (c client) do(method, path string, body any, hdr ...string) result {
	c.e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatalf("encoding body: %v", err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+APIPrefix+path, r)
	if err != nil {
		c.e.t.Fatalf("building request: %v", err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.e.send(req)
}

func (e *env) send(req *http.Request) result {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("reading response: %v", err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: raw}
}

// must fails the test unless the call answers want, and decodes into out.
func (c client) must(want int, method, path string, body any, out any) result {
	c.e.t.Helper()
	res := c.do(method, path, body)
	if res.status != want {
		c.e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.status, want, res.body)
	}
	if out != nil {
		res.decode(c.e.t, out)
	}
	return res
}

func (r result) decode(t testing.TB, out any) {
	t.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

type errorReply struct {
	Error struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Reason  *string `json:"reason"`
	} `json:"error"`
}

func (r result) errorCode(t testing.TB) string {
	t.Helper()
	var e errorReply
	r.decode(t, &e)
	return e.Error.Code
}

func (r result) errorMessage(t testing.TB) string {
	t.Helper()
	var e errorReply
	r.decode(t, &e)
	return e.Error.Message
}

// expectError fails unless res is the error status and code.
func expectError(t testing.TB, res result, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d: %s", res.status, status, res.body)
	}
	if got := res.errorCode(t); got != code {
		t.Fatalf("code %q, want %q: %s", got, code, res.body)
	}
}

// fixture is an organization with a project and a user who is a member.
type fixture struct {
	org       Org
	api       client
	projectID string
	userID    string
}

func (e *env) newOrg(timeTracking bool) (Org, client) {
	e.t.Helper()
	org, err := e.ctl.CreateOrg(e.ctx, "Acme", timeTracking)
	if err != nil {
		e.t.Fatalf("creating org: %v", err)
	}
	return org, e.as(org.OrgKey)
}

func (e *env) fixture(timeTracking bool) fixture {
	e.t.Helper()
	org, api := e.newOrg(timeTracking)
	f := fixture{org: org, api: api}
	f.projectID = f.createProject("Apollo")
	var inv inviteView
	api.must(201, "POST", "/users/invite", map[string]any{
		"email": "ada@example.com", "name": "Ada", "projectIds": []string{f.projectID},
	}, &inv)
	f.userID = inv.UserID
	return f
}

func (f fixture) createProject(name string) string {
	var p projectView
	f.api.must(201, "POST", "/projects", map[string]any{"name": name}, &p)
	return p.ID
}

// entry creates a draft entry through the integration endpoint.
func (f fixture) entry(externalID string, minutes int) entryView {
	var e entryView
	f.api.must(201, "POST", "/integration/time-entries", f.entryBody(externalID, minutes), &e)
	return e
}

func (f fixture) entryBody(externalID string, minutes int) map[string]any {
	return map[string]any{
		"projectId": f.projectID, "userId": f.userID, "workDate": "2026-11-20",
		"minutes": minutes, "externalSystem": "illumera", "externalId": externalID,
	}
}

func (f fixture) submit(id string) {
	f.api.must(200, "PATCH", "/time-entries/"+id, map[string]any{"status": "submitted"}, nil)
}

func (e *env) projectKey(org Org, projectID string, perms []string) client {
	e.t.Helper()
	k, err := e.ctl.MintKey(e.ctx, org.OrganizationID, KeyRequest{Scope: ScopeProject, ProjectID: projectID, Permissions: perms})
	if err != nil {
		e.t.Fatalf("minting key: %v", err)
	}
	return e.as(k.Key)
}

func (e *env) state(orgID string) State {
	e.t.Helper()
	st, err := e.ctl.State(e.ctx, orgID)
	if err != nil {
		e.t.Fatalf("state: %v", err)
	}
	return st
}

func (e *env) setFaults(f Faults) {
	e.t.Helper()
	if _, err := e.ctl.SetFaults(e.ctx, f); err != nil {
		e.t.Fatalf("setting faults: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline; nothing in these tests sleeps to wait.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receiver is a webhook endpoint that records every request and answers
// the status statusFor returns for the n-th request (0-based).
type receiver struct {
	srv       *httptest.Server
	statusFor func(n int) int
	mu        sync.Mutex
	got       []delivered
}

type delivered struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statusFor func(n int) int) *receiver {
	r := &receiver{statusFor: statusFor}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, delivered{req.Header.Clone(), body})
		r.mu.Unlock()
		w.WriteHeader(r.statusFor(n))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func always(status int) func(int) int { return func(int) int { return status } }

func (r *receiver) requests() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

func (r *receiver) count() int { return len(r.requests()) }

func newRequest(method, url, body string) (*http.Request, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return http.NewRequest(method, url, r)
}
