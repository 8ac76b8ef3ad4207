package pipeline

import (
	"context"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
	"github.com/illumera/alignsync/sinks/align"
)

func (r runner) createEntry(ctx context.Context, key string, retry bool, p translate.Payload) ([]ledger.Link, error) {
	ext := ref("time_entry", p.EntryID)
	if retry { // an interrupted run may have created it
		if id, err := r.findInAlign(ctx, "time_entry", ext); id != "" || err != nil {
			return []ledger.Link{link("time_entry", p.EntryID, id)}, err
		}
	}
	pid, err := r.ensureProject(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	uid, err := r.ensureUser(ctx, p.TalentID)
	if err != nil {
		return nil, err
	}
	if err := r.ensureMember(ctx, p.EngagementID); err != nil {
		return nil, err
	}
	e, err := r.db.engagement(ctx, p.EngagementID)
	if err != nil {
		return nil, err
	}
	meta := map[string]any{"rateCents": e.RateCents, "engagementId": p.EngagementID}
	if p.AdjustmentOf != "" {
		meta["adjustmentOf"] = p.AdjustmentOf
		if orig, err := r.db.alignID(ctx, "time_entry", p.AdjustmentOf); err == nil && orig != "" {
			meta["adjustmentOfAlignId"] = orig
		}
	}
	req := align.CreateIntegrationTimeEntryRequest{ProjectID: pid, UserID: uid, WorkDate: p.WorkDate, Minutes: p.Minutes,
		ExternalSystem: provider, ExternalID: p.EntryID, ExternalMetadata: meta}
	if p.Description != nil {
		req.Description = *p.Description
	}
	te, _, err := r.api.CreateIntegrationTimeEntry(ctx, idem(key, req), req)
	return []ledger.Link{link("time_entry", p.EntryID, te.ID)}, err
}

func (r runner) updateEntry(ctx context.Context, p translate.Payload) error {
	id, err := r.ensureEntry(ctx, p.EntryID)
	if err != nil {
		return err
	}
	req := align.UpdateTimeEntryRequest{Minutes: &p.Minutes, WorkDate: &p.WorkDate}
	if !p.Kept("description") { // else Align keeps what it has
		desc := ""
		if p.Description != nil {
			desc = *p.Description
		}
		req.Description = &desc
	}
	_, err = r.api.UpdateTimeEntry(ctx, id, req)
	return err
}

// submitEntry submits for approval. A 409 after an interrupted run means
// Align already moved on: submitted, or further by a manager.
func (r runner) submitEntry(ctx context.Context, entryID string) error {
	id, err := r.ensureEntry(ctx, entryID)
	if err != nil {
		return err
	}
	_, err = r.api.SubmitTimeEntry(ctx, id)
	if !align.IsCode(err, "invalid_transition") {
		return err
	}
	te, getErr := r.api.GetTimeEntry(ctx, id)
	if getErr != nil {
		return getErr
	}
	if te.Status == align.StatusDraft || te.Status == "rejected" {
		return err
	}
	return nil
}
