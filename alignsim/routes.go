package alignsim

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// handlerFunc handles one endpoint. It runs under the server's lock and
// returns either a reply or an error (an *apiError for anything the client
// did; any other error is a simulator bug and answers 500).
type handlerFunc func(c *call) (reply, error)

// endpoint is one method on one path pattern. In a pattern, "{id}" matches a
// UUID; anything else in that position is an unknown path (404).
type endpoint struct {
	method  string
	path    string
	handle  handlerFunc
	perm    string // permission a restricted key needs; "" for none
	orgOnly bool   // project keys get 403 scope_violation

	segments []string
	// projectParam: the path starts with /projects/{id}, a project that a
	// project key must be scoped to.
	projectParam bool
}

const idSegment = "{id}"

func compileRoutes(table []endpoint) []endpoint {
	for i := range table {
		table[i].segments = strings.Split(strings.TrimPrefix(table[i].path, "/"), "/")
		table[i].projectParam = strings.HasPrefix(table[i].path, "/projects/"+idSegment)
	}
	return table
}

// match reports whether path segments fit the pattern and returns the
// path's ids in canonical form.
func (ep *endpoint) match(segs []string) ([]string, bool) {
	if len(segs) != len(ep.segments) {
		return nil, false
	}
	var params []string
	for i, want := range ep.segments {
		if want != idSegment {
			if segs[i] != want {
				return nil, false
			}
			continue
		}
		id, ok := canonicalUUID(segs[i])
		if !ok {
			return nil, false
		}
		params = append(params, id)
	}
	return params, true
}

// route finds the endpoint for method and path: 404 when no pattern fits,
// 405 when one does but not with this method.
func route(table []endpoint, method, path string) (*endpoint, []string, error) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var allow []string
	for i := range table {
		params, ok := table[i].match(segs)
		if !ok {
			continue
		}
		if table[i].method == method {
			return &table[i], params, nil
		}
		allow = append(allow, table[i].method)
	}
	if allow != nil {
		return nil, nil, errMethodNotAllowed(allow)
	}
	return nil, nil, errNotFound("no such path %s", path)
}

// authorize applies the 403 rules of align-contract.md §2: scope first, then
// the key's permission list.
func (ep *endpoint) authorize(k *apiKey, params []string) error {
	if k.scope == scopeProject {
		if ep.orgOnly {
			return errScope("%s %s needs an organization key; this key is scoped to project %s", ep.method, ep.path, k.projectID)
		}
		if ep.projectParam && params[0] != k.projectID {
			return errScope("this key is scoped to project %s", k.projectID)
		}
	}
	if ep.perm != "" && k.permissions != nil && !slices.Contains(k.permissions, ep.perm) {
		return newError(http.StatusForbidden, codeInsufficientPermission, "this key lacks the %s permission", ep.perm)
	}
	return nil
}

// call is one request as a handler sees it.
type call struct {
	s       *Server
	key     *apiKey // nil on the control API
	org     *org    // the key's organization; nil on the control API
	params  []string
	query   url.Values
	body    []byte
	bodyErr error
	now     time.Time
}

// dispatch routes c and runs its handler: 404/405, then 403, then whatever
// the handler decides, in the order of align-contract.md §1.
func dispatch(table []endpoint, c *call, method, path string) response {
	ep, params, err := route(table, method, path)
	if err != nil {
		return errorResponse(err)
	}
	c.params = params
	if c.key != nil {
		if err := ep.authorize(c.key, params); err != nil {
			return errorResponse(err)
		}
	}
	rep, err := ep.handle(c)
	if err != nil {
		return errorResponse(err)
	}
	return rep.render()
}

func (c *call) fields() (*fields, error) {
	if c.bodyErr != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(c.bodyErr, &tooLarge) {
			return nil, errValidation("body: larger than %d bytes", maxBodyBytes)
		}
		return nil, errValidation("body: unreadable: %v", c.bodyErr)
	}
	return parseFields(c.body)
}

// visible reports whether the key may see an entity of projectID.
func (c *call) visible(projectID string) bool {
	return c.key == nil || c.key.scope == scopeOrganization || c.key.projectID == projectID
}

// inScope refuses a project key naming an entity of another project: 403
// scope_violation, which align-contract.md §1 ranks before 404 unknown entity, as
// for a project named in the path. Only an entity that exists in the key's
// organization has a project to compare, so an unknown id stays a 404.
func (c *call) inScope(projectID string) error {
	if c.visible(projectID) {
		return nil
	}
	return errScope("this key is scoped to project %s", c.key.projectID)
}

// pathProject is the project named by /projects/{id}/...
func (c *call) pathProject() (*project, error) {
	p := c.s.st.project(c.org, c.params[0])
	if p == nil {
		return nil, errNotFound("project %s not found", c.params[0])
	}
	return p, nil
}

func (c *call) requireTimeTracking() error {
	if !c.org.timeTracking {
		return errFeatureDisabled()
	}
	return nil
}
