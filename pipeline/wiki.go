package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/sinks/align"
)

const staffingPlanTitle = "Staffing plan"

// writeWiki writes the project's staffing plan. A refresh (a role or the
// title changed) writes only for an active project. Every operation renders
// the rows as they are when it runs and updates the page only when Align's
// differs: of a burst of changes the first to run writes the page and the
// others find it current, one update per burst.
func (r runner) writeWiki(ctx context.Context, key, projectID string, refresh bool) ([]ledger.Link, error) {
	proj, err := r.db.project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if refresh && proj.Status != "active" {
		return nil, nil // only an active project's page follows its roles
	}
	pid, err := r.ensureProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	roles, err := r.db.openRoles(ctx, projectID)
	if err != nil {
		return nil, err
	}
	title, content := staffingPlanTitle, staffingPlan(proj.Title, roles)
	pageID, err := r.db.alignID(ctx, "wiki_page", projectID)
	if err != nil {
		return nil, err
	}
	if pageID == "" {
		// A repeated externalRef returns the existing page without updating it.
		req := align.CreateWikiPageRequest{Title: title, Content: &content,
			ExternalRef: &align.ExternalRef{Provider: provider, ExternalType: "staffing_plan", ExternalID: projectID}}
		page, created, err := r.api.CreateWikiPage(ctx, idem(key+"/"+pid, req), pid, req)
		if err != nil || created || (page.Title == title && page.Content == content) {
			return []ledger.Link{link("wiki_page", projectID, page.ID)}, err
		}
		pageID = page.ID
	} else if current, err := r.pageIs(ctx, pid, pageID, title, content); err != nil || current {
		return nil, err
	}
	_, err = r.api.UpdateWikiPage(ctx, pageID, align.UpdateWikiPageRequest{Title: &title, Content: &content})
	return []ledger.Link{link("wiki_page", projectID, pageID)}, err
}

// pageIs reports whether Align's page already reads title and content.
func (r runner) pageIs(ctx context.Context, alignProjectID, pageID, title, content string) (bool, error) {
	for page, err := range r.api.ListWikiPages(ctx, alignProjectID) {
		if err != nil {
			return false, err
		}
		if page.ID == pageID {
			return page.Title == title && page.Content == content, nil
		}
	}
	return false, nil
}

// staffingPlan renders the project's open roles as one Markdown table.
func staffingPlan(projectTitle string, roles []roleRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Staffing plan: %s\n\n", escapeCell(projectTitle))
	b.WriteString("Open roles, as Illumera lists them.\n\n")
	b.WriteString("| Role | Hours/week | Duration (weeks) | Total hours |\n")
	b.WriteString("|---|---:|---:|---:|\n")
	for _, r := range roles {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", escapeCell(r.Title), r.HoursPerWeek, r.DurationWeeks, r.HoursPerWeek*r.DurationWeeks)
	}
	if len(roles) == 0 {
		b.WriteString("\nNo open roles.\n")
	}
	return b.String()
}

// escapeCell keeps a title from breaking the table.
func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}
