package ingest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/ingest"
)

// eventAt is a delivery envelope of a change Align made at occurredAt.
func eventAt(id, name, orgID, alignEntryID, reason string, occurredAt time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "eventName": name, "occurredAt": occurredAt.UTC().Format(time.RFC3339Nano), "organizationId": orgID,
		"data": map[string]any{"timeEntryId": alignEntryID, "status": name[len("time."):], "minutes": 90, "rejectionReason": reason},
	})
	return b
}

// repair writes back what the status sweep read from Align: status, changed
// in Align at changedAt.
func (h *harness) repair(ctx context.Context, t *testing.T, tn tenant, entryID, alignID, status, reason string, changedAt time.Time) {
	t.Helper()
	err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		var seen time.Time
		if err := tx.QueryRow(ctx, `SELECT updated_at FROM time_entries WHERE id = $1`, entryID).Scan(&seen); err != nil {
			return err
		}
		note, err := ingest.ApplyRepair(ctx, tx, ingest.Repair{CompanyID: tn.companyID, EntryID: entryID, AlignEntryID: alignID,
			Status: status, RejectionReason: reason, SeenUpdatedAt: seen, AlignUpdatedAt: changedAt})
		if note != "" {
			t.Errorf("the repair changed nothing: %s", note)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The status sweep can read a change from Align before its webhook arrives
// (a first attempt that failed, a slow delivery). When the talent acts on the
// repaired status meanwhile — resubmits a rejected entry — the late webhook
// of that same rejection must not reject the resubmitted entry again: the
// system test found Illumera's entries rejected (or with stale minutes) while
// Align had them submitted, approved and invoiced. A later change of the same
// kind still applies.
func TestLateWebhookOfARepairedChangeIsNotAppliedAgain(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	rejectedAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	h.repair(ctx, t, tn, entryID, alignID, ingest.StatusRejected, "Wrong project code", rejectedAt)
	mustExec(t, h.pool, `UPDATE time_entries SET status = 'submitted', minutes = 75, updated_at = now() WHERE id = $1`, entryID)

	late := uuid.NewString()
	body := eventAt(late, "time.rejected", tn.orgID, alignID, "Wrong project code", rejectedAt)
	if code, result := h.do(signedRequest(t, tn.connectionID, tn.secret, late, time.Now(), body)); code != 200 || result != "processed" {
		t.Fatalf("late webhook answered %d %s, want 200 processed", code, result)
	}
	if status, _ := h.entry(t, entryID); status != "submitted" {
		t.Fatalf("the repaired rejection's late webhook moved the resubmitted entry to %s", status)
	}
	if d := h.deliveries(t, late); len(d) != 1 || d[0].Status != "processed" || d[0].Note == nil || !strings.Contains(*d[0].Note, "already applied") {
		t.Fatalf("late delivery recorded as %+v, want processed with a note that the sweep applied it", d)
	}

	next := uuid.NewString()
	body = eventAt(next, "time.rejected", tn.orgID, alignID, "Missing task description", rejectedAt.Add(30*time.Second))
	if code, result := h.do(signedRequest(t, tn.connectionID, tn.secret, next, time.Now(), body)); code != 200 || result != "processed" {
		t.Fatalf("second rejection answered %d %s, want 200 processed", code, result)
	}
	if status, reason := h.entry(t, entryID); status != "rejected" || reason == nil || *reason != "Missing task description" {
		t.Fatalf("a new rejection after the resubmission left the entry %s (%v), want rejected with its reason", status, reason)
	}
}

// Retry Failed decides the same way: a delivery that failed, whose change the
// sweep applied since, is processed without writing its status again.
func TestRetryOfARepairedChangeIsNotAppliedAgain(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	rejectedAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)

	restore := h.failEntryUpdates(t, "23514", "refused for the test")
	id := uuid.NewString()
	body := eventAt(id, "time.rejected", tn.orgID, alignID, "Wrong project code", rejectedAt)
	h.do(signedRequest(t, tn.connectionID, tn.secret, id, time.Now(), body))
	restore()
	if got := h.deliveryStatus(t, id); got != "failed" {
		t.Fatalf("delivery is %q, want failed while updates are refused", got)
	}
	h.repair(ctx, t, tn, entryID, alignID, ingest.StatusRejected, "Wrong project code", rejectedAt)
	mustExec(t, h.pool, `UPDATE time_entries SET status = 'submitted', updated_at = now() WHERE id = $1`, entryID)

	res, err := h.receiver.RetryFailed(ctx, tn.companyID)
	if err != nil || res.Retried != 1 || res.Processed != 1 {
		t.Fatalf("RetryFailed = %+v, %v; want one retried and processed", res, err)
	}
	if status, _ := h.entry(t, entryID); status != "submitted" {
		t.Fatalf("the retried delivery of a repaired change moved the resubmitted entry to %s", status)
	}
}

// A delivery left received (its processing failed half-way) whose change the
// sweep applied since: Align's next attempt marks it processed, writing
// nothing.
func TestRepeatedAttemptOfARepairedChangeIsNotAppliedAgain(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	rejectedAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)

	restore := h.failEntryUpdates(t, "40001", "could not serialize access")
	id := uuid.NewString()
	body := eventAt(id, "time.rejected", tn.orgID, alignID, "Wrong project code", rejectedAt)
	if code, _ := h.do(signedRequest(t, tn.connectionID, tn.secret, id, time.Now(), body)); code < 500 {
		t.Fatalf("a transient failure answered %d, want 5xx so that Align tries again", code)
	}
	restore()
	h.repair(ctx, t, tn, entryID, alignID, ingest.StatusRejected, "Wrong project code", rejectedAt)
	mustExec(t, h.pool, `UPDATE time_entries SET status = 'submitted', updated_at = now() WHERE id = $1`, entryID)

	if code, result := h.do(signedRequest(t, tn.connectionID, tn.secret, id, time.Now(), body)); code != 200 || result != "processed" {
		t.Fatalf("Align's next attempt answered %d %s, want 200 processed", code, result)
	}
	if status, _ := h.entry(t, entryID); status != "submitted" {
		t.Fatalf("the next attempt of a repaired change moved the resubmitted entry to %s", status)
	}
	if got := h.deliveryStatus(t, id); got != "processed" {
		t.Fatalf("the delivery is %q, want processed", got)
	}
}
