package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
	"github.com/illumera/alignsync/sinks/align"
)

// runner executes one company's operations against Align.
type runner struct {
	db  db
	api alignAPI
}

// run performs the operation and returns the links it produced. A retry
// (attempts > 1) first looks for what an interrupted earlier run may have
// created in Align.
func (r runner) run(ctx context.Context, row ledger.Row) ([]ledger.Link, error) {
	p := row.Op.Payload
	switch row.Op.Kind {
	case translate.ProjectCreate:
		return r.createProject(ctx, row.Key, row.Attempts > 1, p)
	case translate.ProjectUpdate:
		return nil, r.updateProject(ctx, p)
	case translate.WikiWrite:
		return r.writeWiki(ctx, row.Key, p.ProjectID, p.Refresh)
	case translate.UserInvite:
		id, err := r.inviteUser(ctx, row.Key, p.TalentID)
		return []ledger.Link{link("user", p.TalentID, id)}, err
	case translate.MemberAdd:
		return r.addMember(ctx, row.Key, p.EngagementID, p.ProjectID, p.TalentID)
	case translate.MemberRemove:
		return nil, r.removeMember(ctx, p.EngagementID, p.ProjectID, p.TalentID)
	case translate.EntryCreate:
		return r.createEntry(ctx, row.Key, row.Attempts > 1, p)
	case translate.EntryUpdate:
		return nil, r.updateEntry(ctx, p)
	case translate.EntrySubmit:
		return nil, r.submitEntry(ctx, p.EntryID)
	}
	return nil, permanent("unknown operation kind %q", row.Op.Kind)
}

func projectRequest(title string, description *string, status string) align.CreateProjectRequest {
	on := true
	return align.CreateProjectRequest{Name: title, Description: description,
		Status: align.ProjectStatus(status), TimeBillingEnabled: &on}
}

func (r runner) createProject(ctx context.Context, key string, retry bool, p translate.Payload) ([]ledger.Link, error) {
	if retry { // an interrupted run may have created it: update what Align holds
		if id, err := r.findInAlign(ctx, "project", ref("project", p.ProjectID)); id != "" || err != nil {
			if err == nil {
				err = r.patchProject(ctx, id, p)
			}
			return []ledger.Link{link("project", p.ProjectID, id)}, err
		}
	}
	req := projectRequest(p.Title, p.Description, p.Status)
	req.ExternalRef = &align.ExternalRef{Provider: provider, ExternalType: "project", ExternalID: p.ProjectID}
	proj, created, err := r.api.CreateProject(ctx, idem(key, req), req)
	if err != nil {
		return nil, err
	}
	if !created { // it existed (a dependency sync got there first): bring it up to date
		if err := r.patchProject(ctx, proj.ID, p); err != nil {
			return nil, err
		}
	}
	return []ledger.Link{link("project", p.ProjectID, proj.ID)}, nil
}

// patchProject brings Align's project up to the payload, leaving alone the
// fields whose value the change did not carry.
func (r runner) patchProject(ctx context.Context, alignID string, p translate.Payload) error {
	req := projectRequest(p.Title, p.Description, p.Status)
	patch := align.UpdateProjectRequest{Name: &req.Name, Description: req.Description, Status: &req.Status,
		TimeBillingEnabled: req.TimeBillingEnabled}
	if p.Kept("title") {
		patch.Name = nil
	}
	if p.Kept("description") {
		patch.Description = nil
	}
	_, err := r.api.UpdateProject(ctx, alignID, patch)
	return err
}

func (r runner) updateProject(ctx context.Context, p translate.Payload) error {
	id, err := r.ensureProject(ctx, p.ProjectID)
	if err != nil {
		return err
	}
	return r.patchProject(ctx, id, p)
}

func (r runner) inviteUser(ctx context.Context, key, talentID string) (string, error) {
	t, err := r.db.talent(ctx, talentID)
	if err != nil {
		return "", err
	}
	req := align.InviteUserRequest{Email: t.Email, Name: t.FullName,
		Role: "developer", ExternalRef: &align.ExternalRef{Provider: provider, ExternalType: "talent", ExternalID: talentID}}
	res, err := r.api.InviteUser(ctx, idem(key, req), req)
	return res.UserID, err
}

func (r runner) addMember(ctx context.Context, key, engagementID, projectID, talentID string) ([]ledger.Link, error) {
	pid, err := r.ensureProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	uid, err := r.ensureUser(ctx, talentID)
	if err != nil {
		return nil, err
	}
	req := align.AddMemberRequest{UserID: uid, Role: "developer"}
	if _, _, err := r.api.AddMember(ctx, idem(key+"/"+pid, req), pid, req); err != nil {
		return nil, err
	}
	return []ledger.Link{link("project_member", engagementID, pid+"/"+uid)}, nil
}

// removeMember takes the talent off the project, unless another engagement
// of theirs there is still accepted or active, and forgets the engagement's
// membership link, so that a later acceptance adds them again.
func (r runner) removeMember(ctx context.Context, engagementID, projectID, talentID string) error {
	pid, err := r.db.alignID(ctx, "project", projectID)
	if err != nil || pid == "" {
		return err // never synced: nothing to remove
	}
	uid, err := r.db.alignID(ctx, "user", talentID)
	if err != nil || uid == "" {
		return err
	}
	others, err := r.db.liveEngagements(ctx, projectID, talentID, engagementID)
	if err != nil {
		return err
	}
	if others == 0 {
		if err := r.api.RemoveMember(ctx, pid, uid); err != nil && !align.IsNotFound(err) {
			return err
		}
	}
	return r.db.deleteLink(ctx, "project_member", engagementID)
}

// idem derives the Idempotency-Key of a POST from the operation's key and
// the request body. Bodies read rows at run time (the talent's name, the
// engagement's rate): after a fix to the data, a retry is a new request, not
// a 422 idempotency_mismatch; with the data unchanged it is the same request.
func idem(key string, body any) string {
	b, _ := json.Marshal(body)
	h := fnv.New32a()
	h.Write(b)
	return fmt.Sprintf("%s/%08x", key, h.Sum32())
}
