package alignsim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// controlEndpoints is the control API of align-contract.md §9, relative to /_sim.
// It has no authentication, no rate limit and no injected faults.
func controlEndpoints() []endpoint {
	const get, post, put = http.MethodGet, http.MethodPost, http.MethodPut
	return []endpoint{
		{method: post, path: "/orgs", handle: simCreateOrg},
		{method: post, path: "/orgs/{id}/keys", handle: simMintKey},
		{method: post, path: "/keys/{id}/revoke", handle: simRevokeKey},
		{method: post, path: "/time-entries/{id}/approve", handle: managerAction(statusApproved)},
		{method: post, path: "/time-entries/{id}/reject", handle: managerAction(statusRejected)},
		{method: post, path: "/time-entries/{id}/lock", handle: managerAction(statusLocked)},
		{method: post, path: "/time-entries/{id}/invoice", handle: managerAction(statusInvoiced)},
		{method: get, path: "/faults", handle: simGetFaults},
		{method: put, path: "/faults", handle: simPutFaults},
		{method: get, path: "/webhook-schedule", handle: simGetSchedule},
		{method: put, path: "/webhook-schedule", handle: simPutSchedule},
		{method: get, path: "/state", handle: simState},
		{method: post, path: "/reset", handle: simReset},
	}
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, path string) {
	body, bodyErr := readBody(w, r)
	s.mu.Lock()
	c := &call{s: s, query: r.URL.Query(), body: body, bodyErr: bodyErr, now: s.clock()}
	resp := dispatch(s.ctl, c, r.Method, path)
	s.mu.Unlock()
	resp.write(w)
}

type orgCreatedView struct {
	OrganizationID string `json:"organizationId"`
	OrgKey         string `json:"orgKey"`
	ManagerUserID  string `json:"managerUserId"`
}

// simCreateOrg creates an organization with its manager user and an
// organization key created by that manager.
func simCreateOrg(c *call) (reply, error) {
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	name, _ := f.optString("name")
	timeTracking := f.boolOr("timeTracking", true)
	if err := f.done(); err != nil {
		return reply{}, err
	}
	o := &org{id: uuid.NewString(), name: name, timeTracking: timeTracking, createdAt: c.now}
	c.s.st.addOrg(o)
	manager := &user{id: uuid.NewString(), orgID: o.id, email: "manager@" + o.id + ".alignsim.invalid",
		name: "Align Manager", role: "manager", createdAt: c.now}
	c.s.st.addUser(o, manager)
	o.managerUserID = manager.id
	k := c.s.mintKey(o, "organization key", scopeOrganization, "", nil, c)
	c.s.log.Info("organization created", "organizationId", o.id, "name", name, "timeTracking", timeTracking)
	return replyCreated(orgCreatedView{o.id, k.secret, manager.id}), nil
}

func (s *Server) mintKey(o *org, name, scope, projectID string, perms []string, c *call) *apiKey {
	k := &apiKey{id: uuid.NewString(), orgID: o.id, name: name, secret: newKeySecret(), scope: scope,
		projectID: projectID, permissions: perms, createdBy: o.managerUserID, createdAt: c.now}
	s.st.addKey(k)
	s.log.Info("API key minted", "organizationId", o.id, "apiKeyId", k.id, "scope", scope, "keyLast4", k.last4())
	return k
}

type keyMintedView struct {
	APIKeyID string `json:"apiKeyId"`
	Key      string `json:"key"`
}

func simMintKey(c *call) (reply, error) {
	o := c.s.st.orgs[c.params[0]]
	if o == nil {
		return reply{}, errNotFound("organization %s not found", c.params[0])
	}
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	scope, ok := f.optEnum("scope", []string{scopeOrganization, scopeProject})
	if !ok {
		f.fail("scope", "is required: organization or project")
	}
	projectID, hasProject := f.optUUID("projectId")
	name, hasName := f.optString("name")
	perms, _ := f.optStringList("permissions")
	if err := f.done(); err != nil {
		return reply{}, err
	}
	if err := checkKeyRequest(c, o, scope, projectID, hasProject, perms); err != nil {
		return reply{}, err
	}
	if !hasName {
		name = scope + " key"
	}
	k := c.s.mintKey(o, name, scope, projectID, perms, c)
	return replyCreated(keyMintedView{k.id, k.secret}), nil
}

func checkKeyRequest(c *call, o *org, scope, projectID string, hasProject bool, perms []string) error {
	switch {
	case scope == scopeProject && !hasProject:
		return errValidation("projectId: is required for a project key")
	case scope == scopeProject && c.s.st.project(o, projectID) == nil:
		return errValidation("projectId: unknown project %s in organization %s", projectID, o.id)
	case scope == scopeOrganization && hasProject:
		return errValidation("projectId: only a project key has one")
	}
	for _, p := range perms {
		if !slices.Contains(knownPermissions, p) {
			return errValidation("permissions: unknown permission %q (known: %s)", p, strings.Join(knownPermissions, ", "))
		}
	}
	return nil
}

func simRevokeKey(c *call) (reply, error) {
	k := c.s.st.keysByID[c.params[0]]
	if k == nil {
		return reply{}, errNotFound("API key %s not found", c.params[0])
	}
	k.revoked = true
	c.s.log.Info("API key revoked", "apiKeyId", k.id, "keyLast4", k.last4())
	return replyOK(map[string]any{"apiKeyId": k.id, "revoked": true}), nil
}

// managerAction is what an Align manager does to an entry: the reject
// reason is checked (400) before the transition (409).
func managerAction(to string) handlerFunc {
	return func(c *call) (reply, error) {
		e := c.s.st.entries[c.params[0]]
		if e == nil {
			return reply{}, errNotFound("time entry %s not found", c.params[0])
		}
		f, err := c.fields()
		if err != nil {
			return reply{}, err
		}
		var reason *string
		if to == statusRejected {
			r := f.reqString("reason")
			reason = &r
		}
		if err := f.done(); err != nil {
			return reply{}, err
		}
		if err := c.s.move(c.s.st.orgs[e.orgID], e, to, reason, c.now); err != nil {
			return reply{}, err
		}
		return replyOK(viewEntry(e)), nil
	}
}
