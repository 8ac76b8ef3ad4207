package pipeline

import (
	"fmt"
	"strings"
)

const staffingPlanTitle = "Staffing plan"

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
