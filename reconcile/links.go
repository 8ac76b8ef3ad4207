package reconcile

import (
	"context"
	"fmt"

	"github.com/illumera/alignsync/sinks/align"
)

// externalTypes maps an entity link's type to the externalType under which
// the pipeline's writes make Align record an integration link (provider
// "illumera", externalId the Illumera id). Memberships have no externalRef.
var externalTypes = map[string]string{
	"project":    "project",
	"user":       "talent",
	"time_entry": "time_entry",
	"wiki_page":  "staffing_plan",
}

type linkKey struct{ externalType, externalID string }

// checkLinks compares the company's entity links with Align's integration
// links.
func checkLinks(ctx context.Context, api *align.Client, links []dbLink) ([]LinkProblem, error) {
	if len(links) == 0 {
		return nil, nil
	}
	known := map[linkKey]string{}
	for l, err := range api.ListIntegrationLinks(ctx, align.LinkFilter{Provider: provider}) {
		if err != nil {
			return nil, fmt.Errorf("listing Align's integration links: %w", err)
		}
		k := linkKey{l.ExternalType, l.ExternalID}
		if _, dup := known[k]; !dup {
			known[k] = l.AlignEntityID
		}
	}
	return linkProblems(links, known), nil
}

func linkProblems(links []dbLink, known map[linkKey]string) []LinkProblem {
	var out []LinkProblem
	for _, l := range links {
		extType, ok := externalTypes[l.EntityType]
		if !ok {
			continue
		}
		alignSays, found := known[linkKey{extType, l.IllumeraID}]
		switch {
		case !found:
			out = append(out, LinkProblem{EntityType: l.EntityType, IllumeraID: l.IllumeraID, AlignID: l.AlignID, Problem: LinkUnknownToAlign})
		case alignSays != l.AlignID:
			out = append(out, LinkProblem{EntityType: l.EntityType, IllumeraID: l.IllumeraID, AlignID: l.AlignID,
				AlignSays: alignSays, Problem: LinkPointsElsewhere})
		}
	}
	return out
}
