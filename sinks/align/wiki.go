package align

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// WikiPage is a page of a project's wiki.
type WikiPage struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"projectId"`
	Title     string    `json:"title"`
	Content   string    `json:"content"` // Markdown; empty when null
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// CreateWikiPageRequest is the body of POST /projects/:id/wiki-pages.
type CreateWikiPageRequest struct {
	Title       string       `json:"title"`
	Content     *string      `json:"content,omitempty"`
	ExternalRef *ExternalRef `json:"externalRef,omitempty"`
}

// CreateWikiPage creates a page. created is false when Align returned the existing page of
// req.ExternalRef, which it does not update: refresh it with UpdateWikiPage.
func (c *Client) CreateWikiPage(ctx context.Context, idemKey, projectID string, req CreateWikiPageRequest) (p WikiPage, created bool, err error) {
	status, err := c.do(ctx, request{
		method: http.MethodPost, route: routeProjectWikiPages, ids: []string{projectID},
		idemKey: idemKey, body: req,
	}, &p)
	return p, status == http.StatusCreated, err
}

// UpdateWikiPage changes the non-nil fields of req.
func (c *Client) UpdateWikiPage(ctx context.Context, pageID string, req UpdateWikiPageRequest) (WikiPage, error) {
	var p WikiPage
	_, err := c.do(ctx, request{
		method: http.MethodPatch, route: routeWikiPage, ids: []string{pageID}, body: req,
	}, &p)
	return p, err
}

// ListWikiPages lists a project's wiki pages.
func (c *Client) ListWikiPages(ctx context.Context, projectID string) iter.Seq2[WikiPage, error] {
	return listAll[WikiPage](ctx, c, request{
		method: http.MethodGet, route: routeProjectWikiPages, ids: []string{projectID},
	})
}
