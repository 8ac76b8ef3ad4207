package translate

import (
	"github.com/illumera/alignsync/ingest"
	"slices"

	"github.com/illumera/alignsync/change"
)

// AlignProjectStatus maps Illumera's project status to Align's.
func AlignProjectStatus(s string) string {
	switch s {
	case "active":
		return "active"
	case "completed":
		return "completed"
	default: // draft, open, on_hold: not started or paused
		return "on_hold"
	}
}

func translateProject(c Change) []Op {
	id := str(c.After, "id")
	p := Payload{
		ProjectID:   id,
		Title:       str(c.After, "title"),
		Description: optStr(c.After, "description"),
		Status:      AlignProjectStatus(str(c.After, "status")),
		Keep:        kept(c, "title", "description"),
		Row:         c.After,
	}
	var ops []Op
	switch {
	case c.Op == change.OpCreate:
		ops = append(ops, Op{Kind: ProjectCreate, EntityID: id, Payload: p, Touches: []string{projectKey(id)}})
	case changed(c, "title", "description", "status"):
		ops = append(ops, Op{Kind: ProjectUpdate, EntityID: id, Payload: p, Touches: []string{projectKey(id)}})
	}
	switch {
	case becomes(c, "active"):
		ops = append(ops, wikiWrite(id, false))
	case str(c.After, "status") == "active" && changed(c, "title"):
		ops = append(ops, wikiWrite(id, true)) // the page's heading names the project
	}
	return ops
}

// translateRole: the staffing page of an active project lists its open
// roles, so adding, changing, filling or deleting one rewrites it. Whether the
// project is active is known when the operation runs (Payload.Refresh).
func translateRole(c Change) []Op {
	row := c.After
	if c.Op == change.OpDelete {
		row = c.Before
	}
	if c.Op == change.OpUpdate && !changed(c, "project_id", "title", "hours_per_week", "duration_weeks", "status") {
		return nil
	}
	ops := []Op{wikiWrite(str(row, "project_id"), true)}
	if c.Op == change.OpUpdate && c.Before != nil && str(c.Before, "project_id") != str(row, "project_id") {
		ops = append(ops, wikiWrite(str(c.Before, "project_id"), true)) // moved: it leaves the other page
	}
	return ops
}

// wikiWrite writes the project's staffing page; refresh writes it only if the
// project is active by then.
func wikiWrite(projectID string, refresh bool) Op {
	return Op{Kind: WikiWrite, EntityID: projectID, Payload: Payload{ProjectID: projectID, Refresh: refresh},
		Touches: []string{wikiKey(projectID)}, DependsOn: []string{projectKey(projectID)}}
}

// kept lists those of cols the change carries no value for: the payload
// fields of the same name an update must leave alone.
func kept(c Change, cols ...string) []string {
	var out []string
	for _, col := range cols {
		if c.unknown(col) {
			out = append(out, col)
		}
	}
	return out
}

// MemberStatuses are the engagement statuses that make the talent a member
// of the project in Align.
var MemberStatuses = []string{"accepted", "active"}

func live(status string) bool { return slices.Contains(MemberStatuses, status) }

func translateEngagement(c Change) []Op {
	e := Payload{
		EngagementID: str(c.After, "id"),
		ProjectID:    str(c.After, "project_id"),
		TalentID:     str(c.After, "talent_id"),
		Row:          c.After,
	}
	switch {
	case live(str(c.After, "status")) && (c.Op == change.OpCreate || c.Before == nil || !live(str(c.Before, "status"))):
		// accepted or straight to active; accepted → active calls for nothing
		return []Op{
			{Kind: UserInvite, EntityID: e.TalentID, Payload: e, Touches: []string{userKey(e.TalentID)}},
			{Kind: MemberAdd, EntityID: e.EngagementID, Payload: e, Touches: []string{memberKey(e.EngagementID)},
				DependsOn: []string{projectKey(e.ProjectID), userKey(e.TalentID)}},
		}
	case c.Op == change.OpUpdate && becomes(c, "ended"):
		// After the earlier uses of the membership: an entry synced later
		// would make the talent a member again.
		return []Op{{Kind: MemberRemove, EntityID: e.EngagementID, Payload: e, Touches: []string{memberKey(e.EngagementID)},
			DependsOn: []string{projectKey(e.ProjectID), userKey(e.TalentID), membershipUse(e.ProjectID, e.TalentID)}}}
	}
	return nil
}

// editable statuses: Align accepts edits only while draft or rejected.
func editable(status string) bool {
	return status == ingest.StatusDraft || status == ingest.StatusRejected
}

func translateEntry(c Change) []Op {
	id := str(c.After, "id")
	p := Payload{
		EntryID:      id,
		EngagementID: str(c.After, "engagement_id"),
		ProjectID:    str(c.After, "project_id"),
		TalentID:     str(c.After, "talent_id"),
		AdjustmentOf: str(c.After, "adjustment_of"),
		Minutes:      integer(c.After, "minutes"),
		WorkDate:     str(c.After, "work_date"),
		Description:  optStr(c.After, "description"),
		Keep:         kept(c, "description"),
		Row:          c.After,
	}
	// Every operation of an entry may add its talent to the project (when the
	// entry is not in Align yet): a use of the membership.
	touches := []string{entryKey(id), membershipUse(p.ProjectID, p.TalentID)}
	status := str(c.After, "status")
	var ops []Op
	if c.Op == change.OpCreate {
		if status != ingest.StatusDraft && status != ingest.StatusSubmitted {
			return nil // approved and later statuses come from Align
		}
		deps := []string{projectKey(p.ProjectID), userKey(p.TalentID), memberKey(p.EngagementID)}
		if p.AdjustmentOf != "" {
			deps = append(deps, entryKey(p.AdjustmentOf))
		}
		ops = append(ops, Op{Kind: EntryCreate, EntityID: id, Payload: p, Touches: touches, DependsOn: deps})
	} else if changed(c, "minutes", "work_date", "description") &&
		(editable(status) || (c.Before != nil && editable(str(c.Before, "status")))) {
		ops = append(ops, Op{Kind: EntryUpdate, EntityID: id, Payload: p, Touches: touches})
	}
	if becomes(c, ingest.StatusSubmitted) {
		ops = append(ops, submit(c.After))
	}
	return ops
}
