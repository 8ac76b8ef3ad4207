package pipeline

import (
	"context"
	"fmt"
	"unicode/utf8"

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
	desc, err := r.entryDescription(ctx, p)
	if err != nil {
		return nil, err
	}
	req := align.CreateIntegrationTimeEntryRequest{ProjectID: pid, UserID: uid, WorkDate: p.WorkDate, Minutes: p.Minutes,
		ExternalSystem: provider, ExternalID: p.EntryID, ExternalMetadata: meta, Description: *desc}
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
		if req.Description, err = r.entryDescription(ctx, p); err != nil {
			return err
		}
	}
	_, err = r.api.UpdateTimeEntry(ctx, id, req)
	return err
}

// entryDescription is the description Align shows for an entry: an
// adjustment says first which entry it adjusts, besides the metadata link,
// so that an approver reading it in Align knows.
func (r runner) entryDescription(ctx context.Context, p translate.Payload) (*string, error) {
	desc := ""
	if p.Description != nil {
		desc = *p.Description
	}
	if p.AdjustmentOf == "" {
		return &desc, nil
	}
	orig, err := r.db.entry(ctx, p.AdjustmentOf)
	if err != nil {
		return nil, fmt.Errorf("reading the entry adjusted by %s: %w", p.EntryID, err)
	}
	desc = labelled(fmt.Sprintf("Adjusts the time entry of %s (%d minutes).", orig.WorkDate, orig.Minutes), desc)
	return &desc, nil
}

// maxDescription is the longest description Align accepts, in characters
// (align-contract.md §5 [doc]).
const maxDescription = 2000

// labelled puts label before desc. The label never makes a description Align
// would accept too long for it: the end of desc gives way.
func labelled(label, desc string) string {
	if desc == "" {
		return label
	}
	s := label + " " + desc
	if utf8.RuneCountInString(desc) > maxDescription || utf8.RuneCountInString(s) <= maxDescription {
		return s // as long as Illumera's: Align's refusal names it
	}
	return string([]rune(s)[:maxDescription-1]) + "…"
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
	if te.Status == align.StatusDraft || te.Status == align.StatusRejected {
		return err
	}
	return nil
}
