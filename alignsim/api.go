package alignsim

import (
	"context"
	"net/http"
	"time"
)

// apiEndpoints is the Align API of align-contract.md §2–§8, relative to
// APIPrefix. orgOnly marks the endpoints a project key may not call (§2).
func apiEndpoints() []endpoint {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []endpoint{
		{method: get, path: "/me", handle: getMe},
		{method: get, path: "/projects", handle: listProjects, perm: PermReadProject},
		{method: post, path: "/projects", handle: createProject, perm: PermWriteProject, orgOnly: true},
		{method: get, path: "/projects/{id}", handle: getProject, perm: PermReadProject},
		{method: patch, path: "/projects/{id}", handle: patchProject, perm: PermWriteProject, orgOnly: true},
		{method: get, path: "/projects/{id}/members", handle: listMembers, perm: PermReadProject},
		{method: post, path: "/projects/{id}/members", handle: postMember, perm: PermWriteProject, orgOnly: true},
		{method: del, path: "/projects/{id}/members/{id}", handle: deleteMember, perm: PermWriteProject, orgOnly: true},
		{method: get, path: "/projects/{id}/time-entries", handle: listProjectEntries, perm: PermReadTimeEntry},
		{method: post, path: "/projects/{id}/time-entries", handle: createProjectEntry, perm: PermWriteTimeEntry},
		{method: get, path: "/projects/{id}/wiki-pages", handle: listWikiPages, perm: PermReadWikiPage},
		{method: post, path: "/projects/{id}/wiki-pages", handle: createWikiPage, perm: PermWriteWikiPage},
		{method: get, path: "/users", handle: listUsers, perm: PermReadUser, orgOnly: true},
		{method: post, path: "/users/invite", handle: inviteUser, perm: PermWriteUser, orgOnly: true},
		{method: get, path: "/time-entries", handle: listOrgEntries, perm: PermReadTimeEntry, orgOnly: true},
		{method: get, path: "/time-entries/{id}", handle: getEntry, perm: PermReadTimeEntry},
		{method: patch, path: "/time-entries/{id}", handle: patchEntry, perm: PermWriteTimeEntry},
		{method: post, path: "/integration/time-entries", handle: createIntegrationEntry, perm: PermWriteTimeEntry, orgOnly: true},
		{method: get, path: "/integration/time-entries/{id}", handle: getIntegrationEntry, perm: PermReadTimeEntry},
		{method: patch, path: "/wiki-pages/{id}", handle: patchWikiPage, perm: PermWriteWikiPage},
		{method: get, path: "/integration-links", handle: listLinks, perm: PermReadIntegrationLink},
		{method: get, path: "/webhooks", handle: listWebhooks, perm: PermReadWebhook, orgOnly: true},
		{method: post, path: "/webhooks", handle: createWebhook, perm: PermWriteWebhook, orgOnly: true},
		{method: del, path: "/webhooks/{id}", handle: deleteWebhook, perm: PermWriteWebhook, orgOnly: true},
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	body, bodyErr := readBody(w, r)
	if !s.injectLatency(r.Context()) {
		return // the client went away while we were being slow on purpose
	}
	s.handleAPI(r, path, body, bodyErr).write(w)
}

// injectLatency waits latencyMs without holding the lock.
func (s *Server) injectLatency(ctx context.Context) bool {
	s.mu.Lock()
	d := time.Duration(s.faults.LatencyMs) * time.Millisecond
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// handleAPI applies the error precedence of align-contract.md §1: 401, then 429,
// then the idempotency cache, then injected faults, then the endpoint.
func (s *Server) handleAPI(r *http.Request, path string, body []byte, bodyErr error) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	key, err := s.authenticate(r.Header)
	if err != nil {
		return errorResponse(err) // 401s carry no rate-limit headers
	}
	key.lastUsedAt = now
	rate, allowed := s.limits.take(key.id, now, s.faults.RateLimitPerMinute)
	var resp response
	if allowed {
		c := &call{s: s, key: key, org: s.st.orgs[key.orgID], query: r.URL.Query(), body: body, bodyErr: bodyErr, now: now}
		resp = s.handleCounted(c, r.Method, path, r.Header.Get("Idempotency-Key"))
	} else {
		resp = errorResponse(errRateLimited(rate.reset, "rate limit of %d requests per minute exceeded", rate.limit))
	}
	rate.apply(resp.header)
	return resp
}

// handleCounted handles a request that counts against the rate limit.
func (s *Server) handleCounted(c *call, method, path, idempotencyKey string) response {
	var ck *idemKey
	if method == http.MethodPost && idempotencyKey != "" {
		ck = &idemKey{apiKeyID: c.key.id, method: method, path: path, key: idempotencyKey}
		cached, hit, err := s.idem.lookup(*ck, c.body, c.now)
		if err != nil {
			return errorResponse(err)
		}
		if hit {
			return cached
		}
	}
	if resp, faulted := s.injectedFault(); faulted {
		return resp // before any side effect, and never cached (5xx or 429)
	}
	resp := dispatch(s.api, c, method, path)
	if ck != nil {
		s.idem.store(*ck, c.body, resp, c.now)
	}
	return resp
}
