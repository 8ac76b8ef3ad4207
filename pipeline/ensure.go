package pipeline

import (
	"context"

	"github.com/illumera/alignsync/pipeline/translate"
	"github.com/illumera/alignsync/sinks/align"
)

// The ensure functions resolve a dependency's Align id when no earlier
// operation will create it (the entity predates the connection, or its
// operation was skipped): first the link table, then Align's own
// integration links (a crash may have lost our link), and only then a sync
// from the current database row.

func (r runner) ensureProject(ctx context.Context, projectID string) (string, error) {
	if id, err := r.known(ctx, "project", ref("project", projectID)); id != "" || err != nil {
		return id, err
	}
	p, err := r.db.project(ctx, projectID)
	if err != nil {
		return "", err
	}
	req := projectRequest(p.Title, p.Description, translate.AlignProjectStatus(p.Status))
	req.ExternalRef = &align.ExternalRef{Provider: provider, ExternalType: "project", ExternalID: projectID}
	proj, _, err := r.api.CreateProject(ctx, idem("sync/"+r.db.companyID+"/project/"+projectID, req), req)
	if err != nil {
		return "", err
	}
	return proj.ID, r.db.saveLink(ctx, link("project", projectID, proj.ID))
}

func (r runner) ensureUser(ctx context.Context, talentID string) (string, error) {
	if id, err := r.known(ctx, "user", ref("talent", talentID)); id != "" || err != nil {
		return id, err
	}
	id, err := r.inviteUser(ctx, "sync/"+r.db.companyID+"/user/"+talentID, talentID)
	if err != nil {
		return "", err
	}
	return id, r.db.saveLink(ctx, link("user", talentID, id))
}

// ensureMember makes the engagement's talent a member of its project.
func (r runner) ensureMember(ctx context.Context, engagementID string) error {
	if id, err := r.db.alignID(ctx, "project_member", engagementID); id != "" || err != nil {
		return err
	}
	e, err := r.db.engagement(ctx, engagementID)
	if err != nil {
		return err
	}
	links, err := r.addMember(ctx, "sync/"+r.db.companyID+"/member/"+engagementID, engagementID, e.ProjectID, e.TalentID)
	if err != nil {
		return err
	}
	return r.db.saveLink(ctx, links[0])
}

// ensureEntry returns the Align id of an Illumera time entry, creating the
// entry from its current row when Align has never seen it.
func (r runner) ensureEntry(ctx context.Context, entryID string) (string, error) {
	if id, err := r.known(ctx, "time_entry", ref("time_entry", entryID)); id != "" || err != nil {
		return id, err
	}
	e, err := r.db.entry(ctx, entryID)
	if err != nil {
		return "", err
	}
	p := translate.Payload{EntryID: e.ID, EngagementID: e.EngagementID, ProjectID: e.ProjectID, TalentID: e.TalentID,
		Minutes: e.Minutes, WorkDate: e.WorkDate, Description: e.Description}
	if e.AdjustmentOf != nil {
		p.AdjustmentOf = *e.AdjustmentOf
	}
	links, err := r.createEntry(ctx, "sync/"+r.db.companyID+"/entry/"+entryID, false, p)
	if err != nil {
		return "", err
	}
	return links[0].AlignID, r.db.saveLink(ctx, links[0])
}

// known looks an entity up in our links, then in Align's integration links,
// saving what Align knows.
func (r runner) known(ctx context.Context, entityType string, ext align.ExternalRef) (string, error) {
	id, err := r.db.alignID(ctx, entityType, ext.ExternalID)
	if id != "" || err != nil {
		return id, err
	}
	return r.findInAlign(ctx, entityType, ext)
}

func (r runner) findInAlign(ctx context.Context, entityType string, ext align.ExternalRef) (string, error) {
	l, ok, err := r.api.FindLink(ctx, ext)
	if err != nil || !ok {
		return "", err
	}
	return l.AlignEntityID, r.db.saveLink(ctx, link(entityType, ext.ExternalID, l.AlignEntityID))
}
