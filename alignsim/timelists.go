package alignsim

import (
	"net/url"
	"slices"
)

// entryFilter holds the list filters of align-contract.md §5; dates are
// inclusive and compare as strings, which YYYY-MM-DD allows.
type entryFilter struct {
	startDate      string
	endDate        string
	status         string
	externalSystem string
}

func parseEntryFilter(q url.Values) (entryFilter, error) {
	f := entryFilter{startDate: q.Get("startDate"), endDate: q.Get("endDate"),
		status: q.Get("status"), externalSystem: q.Get("externalSystem")}
	if f.startDate != "" && !validDate(f.startDate) {
		return f, errValidation("startDate: must be a date YYYY-MM-DD")
	}
	if f.endDate != "" && !validDate(f.endDate) {
		return f, errValidation("endDate: must be a date YYYY-MM-DD")
	}
	if f.status != "" && !slices.Contains(entryStatuses, f.status) {
		return f, errValidation("status: unknown time entry status %q", f.status)
	}
	return f, nil
}

func (f entryFilter) match(e *timeEntry) bool {
	return (f.startDate == "" || e.workDate >= f.startDate) &&
		(f.endDate == "" || e.workDate <= f.endDate) &&
		(f.status == "" || e.status == f.status) &&
		(f.externalSystem == "" || (e.externalSystem != nil && *e.externalSystem == f.externalSystem))
}

func listProjectEntries(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	return listEntries(c, p.entries)
}

// listOrgEntries also filters on projectId, using that project's own list
// rather than scanning the organization.
func listOrgEntries(c *call) (reply, error) {
	items := c.org.entries
	if raw := c.query.Get("projectId"); raw != "" {
		id, ok := canonicalUUID(raw)
		if !ok {
			return reply{}, errValidation("projectId: must be a UUID")
		}
		items = nil
		if p := c.s.st.project(c.org, id); p != nil {
			items = p.entries
		}
	}
	return listEntries(c, items)
}

func listEntries(c *call, candidates []*timeEntry) (reply, error) {
	pg, err := parsePage(c.query)
	if err != nil {
		return reply{}, err
	}
	filter, err := parseEntryFilter(c.query)
	if err != nil {
		return reply{}, err
	}
	items := candidates
	if filter != (entryFilter{}) {
		items = nil
		for _, e := range candidates {
			if filter.match(e) {
				items = append(items, e)
			}
		}
	}
	return replyOK(listOf(items, pg, viewEntry)), nil
}
