package alignsim

import (
	"strconv"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	e := newEnv(t)
	clock := &fakeClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	e.sim.useClock(clock)
	org, api := e.newOrg(true)
	e.setFaults(Faults{RateLimitPerMinute: Ptr(3)})
	for i, wantRemaining := range []string{"2", "1", "0"} {
		res := api.must(200, "GET", "/me", nil, nil)
		if got := res.header.Get("X-RateLimit-Remaining"); got != wantRemaining {
			t.Errorf("request %d: remaining %s, want %s", i, got, wantRemaining)
		}
		wantReset := strconv.Itoa(60 - 10*i) // until the t=0 request leaves
		if res.header.Get("X-RateLimit-Limit") != "3" || res.header.Get("X-RateLimit-Reset") != wantReset {
			t.Errorf("request %d: limit %s reset %s", i, res.header.Get("X-RateLimit-Limit"), res.header.Get("X-RateLimit-Reset"))
		}
		clock.advance(10 * time.Second)
	}
	// The oldest request, at t=0, leaves the window at t=60; now is t=30.
	limited := api.do("GET", "/me", nil)
	expectError(t, limited, 429, codeRateLimit)
	if limited.header.Get("Retry-After") != "30" || limited.header.Get("X-RateLimit-Reset") != "30" ||
		limited.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("429 headers: %v", limited.header)
	}
	other, err := e.ctl.MintKey(e.ctx, org.OrganizationID, KeyRequest{Scope: ScopeOrganization})
	if err != nil {
		t.Fatal(err)
	}
	e.as(other.Key).must(200, "GET", "/me", nil, nil) // the window is per key
	clock.advance(30 * time.Second)
	res := api.must(200, "GET", "/me", nil, nil) // t=60: the first request has left; 429s did not count
	if got := res.header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("remaining %s after the window slid, want 0", got)
	}
	if got, _ := strconv.Atoi(res.header.Get("X-RateLimit-Reset")); got != 10 {
		t.Errorf("reset %d, want 10 (the t=10 request leaves at t=70)", got)
	}
}

func TestInjectedFaults(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	e.setFaults(Faults{ErrorRate: Ptr(1.0)})
	res := f.api.do("POST", "/projects", `{"name":"never"}`)
	expectError(t, res, 503, codeInternal)
	if res.header.Get("X-RateLimit-Remaining") == "" {
		t.Error("an injected fault lacks rate-limit headers")
	}
	e.setFaults(Faults{Status: Ptr(429)})
	res = f.api.do("GET", "/me", nil)
	expectError(t, res, 429, codeRateLimit)
	if res.header.Get("Retry-After") != "1" {
		t.Errorf("injected 429 Retry-After %q, want 1", res.header.Get("Retry-After"))
	}
	e.setFaults(Faults{Status: Ptr(500)})
	expectError(t, f.api.do("GET", "/me", nil), 500, codeInternal)
	e.setFaults(Faults{ErrorRate: Ptr(0.0)})
	if n := len(e.state(f.org.OrganizationID).Projects); n != 1 {
		t.Errorf("%d projects: a faulted request had a side effect", n)
	}
}

func TestInjectedFaultsCountTowardTheRateLimit(t *testing.T) {
	e := newEnv(t)
	_, api := e.newOrg(true)
	e.setFaults(Faults{ErrorRate: Ptr(1.0), RateLimitPerMinute: Ptr(2)})
	expectError(t, api.do("GET", "/me", nil), 503, codeInternal)
	expectError(t, api.do("GET", "/me", nil), 503, codeInternal)
	expectError(t, api.do("GET", "/me", nil), 429, codeRateLimit)
}

func TestInjectedLatency(t *testing.T) {
	e := newEnv(t)
	_, api := e.newOrg(true)
	e.setFaults(Faults{LatencyMs: Ptr(20)})
	api.must(200, "GET", "/me", nil, nil) // only checks that a slow answer still arrives
}
