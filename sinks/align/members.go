package align

import (
	"context"
	"iter"
	"net/http"
)

// AddMember adds a user to a project, or updates the role of an existing member (org key).
// created is false when the user was already a member.
func (c *Client) AddMember(ctx context.Context, idemKey, projectID string, req AddMemberRequest) (m Member, created bool, err error) {
	status, err := c.do(ctx, request{
		method: http.MethodPost, route: routeProjectMembers, ids: []string{projectID},
		idemKey: idemKey, body: req,
	}, &m)
	return m, status == http.StatusCreated, err
}

// RemoveMember removes a user from a project (org key). A user who is not a member gives a 404
// APIError (IsNotFound), which a caller repeating a removal may treat as done.
func (c *Client) RemoveMember(ctx context.Context, projectID, userID string) error {
	_, err := c.do(ctx, request{
		method: http.MethodDelete, route: routeProjectMember, ids: []string{projectID, userID},
	}, nil)
	return err
}

// ListMembers lists a project's members.
func (c *Client) ListMembers(ctx context.Context, projectID string) iter.Seq2[Member, error] {
	return listAll[Member](ctx, c, request{
		method: http.MethodGet, route: routeProjectMembers, ids: []string{projectID},
	})
}
