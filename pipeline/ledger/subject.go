package ledger

import "fmt"

// The Illumera rows an operation's entity names, joined to a page of the
// outbox (a few dozen rows, each by primary key). An entity id that is not a
// UUID joins nothing instead of failing the listing.
const (
	subjectColumns = `coalesce(tt.full_name, et.full_name, ut.full_name), ut.email,
		coalesce(p.title, tp.title, ep.title), to_char(te.work_date, 'YYYY-MM-DD'), te.minutes`
	subjectJoins = `
		LEFT JOIN LATERAL (SELECT CASE WHEN o.entity_id ~ '^[0-9a-fA-F-]{36}$' THEN o.entity_id::uuid END AS id) k ON true
		LEFT JOIN time_entries te ON o.entity_type = 'time_entry' AND te.id = k.id
		LEFT JOIN talent tt ON tt.id = te.talent_id
		LEFT JOIN projects tp ON tp.id = te.project_id
		LEFT JOIN projects p ON o.entity_type IN ('project', 'wiki_page') AND p.id = k.id
		LEFT JOIN engagements e ON o.entity_type = 'project_member' AND e.id = k.id
		LEFT JOIN talent et ON et.id = e.talent_id
		LEFT JOIN projects ep ON ep.id = e.project_id
		LEFT JOIN talent ut ON o.entity_type = 'user' AND ut.id = k.id`
)

// subject is what the joined rows say of an operation's entity.
type subject struct {
	talent, email, project, workDate *string
	minutes                          *int
}

// describe words the entity for an admin: whose time entry, which project.
func (s subject) describe(entityType string) string {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	gone := "no longer in Illumera"
	switch entityType {
	case "time_entry":
		if s.workDate == nil || s.minutes == nil {
			return "time entry " + gone
		}
		return fmt.Sprintf("Time entry of %s on %s, %d min (%s)", str(s.talent), *s.workDate, *s.minutes, quote(s.project))
	case "project":
		if s.project == nil {
			return "project " + gone
		}
		return "Project " + quote(s.project)
	case "wiki_page":
		if s.project == nil {
			return "staffing plan of a project " + gone
		}
		return "Staffing plan of " + quote(s.project)
	case "user":
		if s.talent == nil {
			return "talent " + gone
		}
		return fmt.Sprintf("%s <%s>", str(s.talent), str(s.email))
	case "project_member":
		if s.talent == nil || s.project == nil {
			return "engagement " + gone
		}
		return fmt.Sprintf("%s on %s", str(s.talent), quote(s.project))
	}
	return ""
}

func quote(p *string) string {
	if p == nil {
		return "“?”"
	}
	return "“" + *p + "”"
}
