package align

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Project is an Align project.
type Project struct {
	ID                 string        `json:"id"`
	Name               string        `json:"name"`
	Description        string        `json:"description"` // empty when null
	Status             ProjectStatus `json:"status"`
	TimeBillingEnabled bool          `json:"timeBillingEnabled"`
	CreatedAt          time.Time     `json:"createdAt"`
	UpdatedAt          time.Time     `json:"updatedAt"`
}

// CreateProject creates a project (org key). created is false when Align returned the existing
// project of req.ExternalRef, unchanged.
func (c *Client) CreateProject(ctx context.Context, idemKey string, req CreateProjectRequest) (p Project, created bool, err error) {
	status, err := c.do(ctx, request{
		method: http.MethodPost, route: routeProjects, idemKey: idemKey, body: req,
	}, &p)
	return p, status == http.StatusCreated, err
}

// UpdateProject changes the non-nil fields of req (org key).
func (c *Client) UpdateProject(ctx context.Context, projectID string, req UpdateProjectRequest) (Project, error) {
	var p Project
	_, err := c.do(ctx, request{
		method: http.MethodPatch, route: routeProject, ids: []string{projectID}, body: req,
	}, &p)
	return p, err
}

// GetProject returns one project.
func (c *Client) GetProject(ctx context.Context, projectID string) (Project, error) {
	var p Project
	_, err := c.do(ctx, request{method: http.MethodGet, route: routeProject, ids: []string{projectID}}, &p)
	return p, err
}

// ListProjects lists the projects the key can see (a project key: its own only).
func (c *Client) ListProjects(ctx context.Context) iter.Seq2[Project, error] {
	return listAll[Project](ctx, c, request{method: http.MethodGet, route: routeProjects})
}
