package alignsim

import "slices"

func listMembers(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	pg, err := parsePage(c.query)
	if err != nil {
		return reply{}, err
	}
	return replyOK(listOf(p.members, pg, viewMember)), nil
}

// postMember is idempotent: 201 for a new member, 200 for an existing one,
// whose role changes only when a role is given.
func postMember(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	userID := f.reqUUID("userId")
	role, hasRole := f.role("role")
	if err := f.done(); err != nil {
		return reply{}, err
	}
	u := c.s.st.user(c.org, userID)
	if u == nil {
		return reply{}, errValidation("userId: unknown user %s", userID)
	}
	if m := p.memberByUser[u.id]; m != nil {
		if hasRole {
			m.role = role
		}
		return replyOK(viewMember(m)), nil
	}
	if !hasRole {
		role = u.role
	}
	return replyCreated(viewMember(c.addMembership(p, u.id, role))), nil
}

func deleteMember(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	m := p.memberByUser[c.params[1]]
	if m == nil {
		return reply{}, errNotFound("user %s is not a member of project %s", c.params[1], p.id)
	}
	delete(p.memberByUser, m.userID)
	p.members = slices.DeleteFunc(p.members, func(x *member) bool { return x == m })
	return replyNoContent(), nil
}

func (c *call) addMembership(p *project, userID, role string) *member {
	m := &member{projectID: p.id, userID: userID, role: role, addedAt: c.now}
	p.members = append(p.members, m)
	p.memberByUser[userID] = m
	return m
}
