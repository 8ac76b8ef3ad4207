package align

import (
	"context"
	"net/http"
	"time"
)

// Key scopes.
const (
	ScopeOrganization = "organization"
	ScopeProject      = "project"
)

// KeyInfo describes the calling API key (GET /me).
type KeyInfo struct {
	APIKeyID        string `json:"apiKeyId"`
	KeyName         string `json:"keyName"`
	KeyPrefix       string `json:"keyPrefix"`
	OrganizationID  string `json:"organizationId"`
	Scope           string `json:"scope"`
	ScopedProjectID string `json:"scopedProjectId"` // empty for an organization key
	// Permissions nil means full access within the scope.
	Permissions     []string   `json:"permissions"`
	CreatedByUserID string     `json:"createdByUserId"`
	LastUsedAt      *time.Time `json:"lastUsedAt"`
}

// Me returns the key's identity and scope; connect uses it to check a key before storing it.
func (c *Client) Me(ctx context.Context) (KeyInfo, error) {
	var k KeyInfo
	_, err := c.do(ctx, request{method: http.MethodGet, route: routeMe}, &k)
	return k, err
}
