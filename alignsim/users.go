package alignsim

import (
	"encoding/json"
	"net/mail"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// inviteRoles are the roles an invite or a membership may carry.
var inviteRoles = []string{"user", "client", "tester", "developer", "tech_lead", "product_owner", "devops_engineer", "manager"}

// Invite outcomes (align-contract.md §4).
const (
	inviteInvited  = "invited"
	inviteExisting = "existing"
	inviteLinked   = "linked"
)

type inviteReq struct {
	email      string
	name       string
	role       string
	projects   []*project
	sendInvite bool
	ref        *extRef
	metadata   json.RawMessage
}

type inviteView struct {
	UserID   string  `json:"userId"`
	InviteID *string `json:"inviteId"`
	Created  bool    `json:"created"`
	Status   string  `json:"status"`
}

func listUsers(c *call) (reply, error) {
	pg, err := parsePage(c.query)
	if err != nil {
		return reply{}, err
	}
	return replyOK(listOf(c.org.users, pg, viewUser)), nil
}

func inviteUser(c *call) (reply, error) {
	req, err := parseInvite(c)
	if err != nil {
		return reply{}, err
	}
	existing, err := c.inviteTarget(req)
	if err != nil {
		return reply{}, err
	}
	if existing != nil {
		c.addMemberships(existing, req.projects)
		if req.ref != nil && c.org.linksByRef[*req.ref] == nil {
			c.linkRef(req.ref, entityUser, existing.id)
		}
		return replyOK(inviteView{UserID: existing.id, Status: inviteExisting}), nil
	}
	u := &user{id: uuid.NewString(), orgID: c.org.id, email: req.email, name: req.name,
		role: req.role, metadata: req.metadata, createdAt: c.now}
	c.s.st.addUser(c.org, u)
	c.addMemberships(u, req.projects)
	c.linkRef(req.ref, entityUser, u.id)
	v := inviteView{UserID: u.id, Created: true, Status: inviteLinked}
	if req.sendInvite {
		id := uuid.NewString()
		v.InviteID, v.Status = &id, inviteInvited
	}
	return replyCreated(v), nil
}

func parseInvite(c *call) (inviteReq, error) {
	f, err := c.fields()
	if err != nil {
		return inviteReq{}, err
	}
	req := inviteReq{email: f.reqString("email"), name: f.reqString("name"), role: "user"}
	if !f.failed() && !validEmail(req.email) {
		f.fail("email", "must be an email address")
	}
	if role, ok := f.role("role"); ok {
		req.role = role
	}
	ids, _ := f.optStringList("projectIds")
	req.sendInvite = f.boolOr("sendInvite", true)
	req.ref = f.externalRef()
	if _, ok := f.optObject("metadata"); ok {
		req.metadata = f.raw("metadata")
	}
	if err := f.done(); err != nil {
		return inviteReq{}, err
	}
	req.projects, err = c.resolveProjects(ids)
	return req, err
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// role reads a role; the admin roles cannot be granted through the API.
func (f *fields) role(name string) (string, bool) {
	s, ok := f.optString(name)
	switch {
	case !ok:
		return "", false
	case s == "admin" || s == "platform_admin":
		f.fail(name, "%s cannot be granted through the API", s)
		return "", false
	case !slices.Contains(inviteRoles, s):
		f.fail(name, "must be one of %s", strings.Join(inviteRoles, ", "))
		return "", false
	}
	return s, true
}

func (c *call) resolveProjects(ids []string) ([]*project, error) {
	var out []*project
	for _, raw := range ids {
		id, ok := canonicalUUID(raw)
		p := c.s.st.project(c.org, id)
		if !ok || p == nil {
			return nil, errValidation("projectIds: unknown project %q", raw)
		}
		out = append(out, p)
	}
	return out, nil
}

// inviteTarget finds the user an invite is about: the externalRef wins over
// the email (compared case-insensitively) when they disagree.
func (c *call) inviteTarget(req inviteReq) (*user, error) {
	id, err := c.replayed(req.ref, entityUser)
	if err != nil {
		return nil, err
	}
	if id != "" {
		return c.s.st.users[id], nil
	}
	return c.org.usersByEmail[strings.ToLower(req.email)], nil
}

// addMemberships adds u to each project with its org role, leaving existing
// memberships as they are.
func (c *call) addMemberships(u *user, projects []*project) {
	for _, p := range projects {
		if p.memberByUser[u.id] == nil {
			c.addMembership(p, u.id, u.role)
		}
	}
}
