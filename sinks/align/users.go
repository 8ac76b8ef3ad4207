package align

import (
	"context"
	"iter"
	"net/http"
)

// Role is a user's role in an organization or project. Align refuses admin and platform_admin
// for invites.
type Role string

const (
	RoleUser           Role = "user"
	RoleClient         Role = "client"
	RoleTester         Role = "tester"
	RoleDeveloper      Role = "developer"
	RoleTechLead       Role = "tech_lead"
	RoleProductOwner   Role = "product_owner"
	RoleDevOpsEngineer Role = "devops_engineer"
	RoleManager        Role = "manager"
)

// InviteUserRequest is the body of POST /users/invite (org key, permission write:user).
type InviteUserRequest struct {
	Email       string         `json:"email"`
	Name        string         `json:"name"`
	Role        Role           `json:"role,omitempty"`       // default user
	ProjectIDs  []string       `json:"projectIds,omitempty"` // memberships to add, with the org role
	SendInvite  *bool          `json:"sendInvite,omitempty"` // default true
	ExternalRef *ExternalRef   `json:"externalRef,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
}

// InviteStatus says what an invite did.
type InviteStatus string

const (
	InviteInvited  InviteStatus = "invited"  // new user, invitation sent
	InviteLinked   InviteStatus = "linked"   // new user, no invitation sent
	InviteExisting InviteStatus = "existing" // the email or externalRef already named a user
)

// InviteResult is Align's answer to an invite. Created is false for an existing user, whose
// requested memberships and new externalRef Align still adds.
type InviteResult struct {
	UserID   string       `json:"userId"`
	InviteID string       `json:"inviteId"` // empty unless Status is invited
	Created  bool         `json:"created"`
	Status   InviteStatus `json:"status"`
}

// InviteUser invites (or finds) a user by email or externalRef (org key).
func (c *Client) InviteUser(ctx context.Context, idemKey string, req InviteUserRequest) (InviteResult, error) {
	var res InviteResult
	_, err := c.do(ctx, request{
		method: http.MethodPost, route: routeUsersInvite, idemKey: idemKey, body: req,
	}, &res)
	return res, err
}

// ListUsers lists the organization's users, its manager included (org key).
func (c *Client) ListUsers(ctx context.Context) iter.Seq2[User, error] {
	return listAll[User](ctx, c, request{method: http.MethodGet, route: routeUsers})
}
