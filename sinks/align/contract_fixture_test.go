package align_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/sinks/align"
)

// observations records what the client's Observe hook saw.
type observations struct {
	mu   sync.Mutex
	list []observation
}

type observation struct {
	route  string
	status int
}

func (o *observations) add(route string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, observation{route, status})
}

// count returns how many attempts matched route (any route when empty) and status (any when -1).
func (o *observations) count(route string, status int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, ob := range o.list {
		if (route == "" || ob.route == route) && (status == -1 || ob.status == status) {
			n++
		}
	}
	return n
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	ctl    *alignsim.Control
	org    alignsim.Org
	client *align.Client
	obs    *observations
	ops    atomic.Int64
}

func newFixture(t *testing.T, timeTracking bool) *fixture {
	t.Helper()
	sim := alignsim.New(alignsim.Options{Rand: rand.New(rand.NewPCG(7, 11))})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	f := &fixture{t: t, ctx: context.Background(), ctl: alignsim.NewControl(srv.URL, srv.Client()), obs: &observations{}}
	org, err := f.ctl.CreateOrg(f.ctx, "Acme "+t.Name(), timeTracking)
	if err != nil {
		t.Fatalf("creating org: %v", err)
	}
	f.org = org
	f.client = f.newClient(org.OrgKey, nil)
	return f
}

// newClient returns a client of key with fast backoff; the client-side limit is raised so that
// only the simulator's limit applies.
func (f *fixture) newClient(key string, mod func(*align.Config)) *align.Client {
	f.t.Helper()
	cfg := align.Config{
		BaseURL:       f.ctl.APIBaseURL(),
		APIKey:        key,
		RatePerMinute: 60000,
		RetryInitial:  time.Millisecond,
		RetryMax:      5 * time.Millisecond,
		Observe:       f.obs.add,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := align.New(cfg)
	if err != nil {
		f.t.Fatalf("align.New: %v", err)
	}
	return c
}

// op returns a fresh idempotency key, as the pipeline derives one per operation.
func (f *fixture) op() string { return fmt.Sprintf("%s/op-%d", f.t.Name(), f.ops.Add(1)) }

func (f *fixture) project(name string) align.Project {
	f.t.Helper()
	p, created, err := f.client.CreateProject(f.ctx, f.op(), align.CreateProjectRequest{Name: name})
	if err != nil || !created {
		f.t.Fatalf("creating project %q: created %v, %v", name, created, err)
	}
	return p
}

// member invites a new user into the project and returns the user id.
func (f *fixture) member(projectID, email string) string {
	f.t.Helper()
	res, err := f.client.InviteUser(f.ctx, f.op(), align.InviteUserRequest{
		Email: email, Name: email, Role: align.RoleDeveloper, ProjectIDs: []string{projectID},
	})
	if err != nil || !res.Created {
		f.t.Fatalf("inviting %s: %+v, %v", email, res, err)
	}
	return res.UserID
}

func (f *fixture) entry(projectID, userID, externalID string, minutes int) (align.TimeEntry, bool, error) {
	return f.client.CreateIntegrationTimeEntry(f.ctx, f.op(), align.CreateIntegrationTimeEntryRequest{
		ProjectID: projectID, UserID: userID, WorkDate: workDate, Minutes: minutes,
		ExternalSystem: "illumera", ExternalID: externalID,
	})
}

func wantAPIError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	if !align.IsStatus(err, status) || !align.IsCode(err, code) {
		t.Errorf("%s: err = %v, want %d %s", what, err, status, code)
	}
}
