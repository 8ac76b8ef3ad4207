package ingest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/ingest"
)

// TestAdvanceStatus checks every (current, reported) pair against the
// lifecycle written out by hand: forward only, rejected only from submitted.
func TestAdvanceStatus(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	reported := []string{"submitted", "approved", "rejected", "locked", "invoiced"}
	want := map[string][]string{
		"draft":     {"submitted", "approved", "draft", "locked", "invoiced"},
		"submitted": {"submitted", "approved", "rejected", "locked", "invoiced"},
		"rejected":  {"rejected", "approved", "rejected", "locked", "invoiced"},
		"approved":  {"approved", "approved", "approved", "locked", "invoiced"},
		"locked":    {"locked", "locked", "locked", "locked", "invoiced"},
		"invoiced":  {"invoiced", "invoiced", "invoiced", "invoiced", "invoiced"},
	}
	for current, finals := range want {
		for i, next := range reported {
			entryID, _ := h.newEntry(ctx, t, tn, current)
			tx, err := h.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			note, err := ingest.AdvanceStatus(ctx, tx, tn.companyID, entryID, next, "reason")
			if err != nil {
				t.Fatalf("%s → %s: %v", current, next, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			got, reason := h.entry(t, entryID)
			if got != finals[i] {
				t.Errorf("%s + %s: status %s, want %s", current, next, got, finals[i])
			}
			if changed := got != current; changed == (note != "") {
				t.Errorf("%s + %s: changed=%v but note %q", current, next, changed, note)
			}
			if next == "rejected" && got == "rejected" && current != "rejected" && (reason == nil || *reason != "reason") {
				t.Errorf("%s + rejected: reason %v", current, reason)
			}
		}
	}
}

func TestAdvanceStatusOtherCompany(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	a := h.newTenant(ctx, t)
	b := h.newTenant(ctx, t)
	bEntry, _ := h.newEntry(ctx, t, b, "submitted")
	tx, err := h.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, id := range []string{bEntry, uuid.NewString(), "not-a-uuid"} {
		if _, err := ingest.AdvanceStatus(ctx, tx, a.companyID, id, "approved", ""); !errors.Is(err, ingest.ErrUnknownTimeEntry) {
			t.Fatalf("entry %s: err %v, want ErrUnknownTimeEntry", id, err)
		}
	}
	if _, err := ingest.AdvanceStatus(ctx, tx, a.companyID, bEntry, "draft", ""); err == nil {
		t.Fatal("draft accepted as a reported status")
	}
}
