package align

import (
	"context"
	"iter"
	"net/http"
)

// ExternalRef names the record in another system (here Illumera) that an Align entity mirrors.
// Align keeps it unique per organization, so a create that repeats it returns the existing
// entity instead of a second one.
type ExternalRef struct {
	Provider     string `json:"provider"`
	ExternalType string `json:"externalType"`
	ExternalID   string `json:"externalId"`
}

// ListIntegrationLinks lists the links Align recorded for writes with an external reference;
// a project key sees only links of its project's entities.
func (c *Client) ListIntegrationLinks(ctx context.Context, f LinkFilter) iter.Seq2[IntegrationLink, error] {
	return listAll[IntegrationLink](ctx, c, request{
		method: http.MethodGet, route: routeIntegrationLinks, query: f.query(),
	})
}

// FindLink returns the link of ref, if Align has one: how a caller finds what it created before
// a crash.
func (c *Client) FindLink(ctx context.Context, ref ExternalRef) (IntegrationLink, bool, error) {
	f := LinkFilter{Provider: ref.Provider, ExternalType: ref.ExternalType, ExternalID: ref.ExternalID}
	for l, err := range c.ListIntegrationLinks(ctx, f) {
		if err != nil {
			return IntegrationLink{}, false, err
		}
		if l.Provider == ref.Provider && l.ExternalType == ref.ExternalType && l.ExternalID == ref.ExternalID {
			return l, true, nil
		}
	}
	return IntegrationLink{}, false, nil
}
