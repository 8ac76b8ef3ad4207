package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// deliveryStatus polls nothing: it reads the delivery's status now ("" when
// it is not recorded).
func (h *harness) deliveryStatus(t *testing.T, deliveryID string) string {
	t.Helper()
	if d := h.deliveries(t, deliveryID); len(d) == 1 {
		return d[0].Status
	}
	return ""
}

// failEntryUpdates makes every status write to time_entries fail with
// SQLSTATE code (a transient serialization failure, 40001, stands for a
// crash between recording and processing) until the returned func runs.
func (h *harness) failEntryUpdates(t *testing.T, code, message string) func() {
	t.Helper()
	mustExec(t, h.pool, `CREATE FUNCTION test_fail_update() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION '`+message+`' USING ERRCODE = '`+code+`'; END $$`)
	mustExec(t, h.pool, `CREATE TRIGGER test_fail_update BEFORE UPDATE ON time_entries FOR EACH ROW EXECUTE FUNCTION test_fail_update()`)
	return func() {
		mustExec(t, h.pool, `DROP TRIGGER test_fail_update ON time_entries`)
		mustExec(t, h.pool, `DROP FUNCTION test_fail_update()`)
	}
}

// A delivery is committed as received before it is processed: while the
// entry is locked by another transaction, the delivery is already visible as
// received; once the lock goes, it is processed.
func TestDeliveryIsReceivedBeforeItIsProcessed(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")

	lock, err := h.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, `SELECT 1 FROM time_entries WHERE id = $1 FOR UPDATE`, entryID); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	answered := make(chan string, 1)
	go func() {
		_, result := h.deliver(t, tn, id, "time.approved", alignID, "")
		answered <- result
	}()
	deadline := time.Now().Add(30 * time.Second)
	for h.deliveryStatus(t, id) != "received" {
		if time.Now().After(deadline) {
			t.Fatalf("the delivery is %q while its entry is locked, want it recorded as received", h.deliveryStatus(t, id))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if result := <-answered; result != "processed" {
		t.Fatalf("answer %s, want processed", result)
	}
	if st := h.deliveryStatus(t, id); st != "processed" {
		t.Fatalf("delivery %s after processing", st)
	}
	if st, _ := h.entry(t, entryID); st != "approved" {
		t.Fatalf("entry %s, want approved", st)
	}
}

// Processing that never finishes (a crash, here a transient database
// failure) leaves the delivery received and answers 5xx; Align's next attempt
// of the same delivery processes it, and so does Retry Failed once it has
// been received for a while.
func TestReceivedDeliveryIsPickedUpByRetries(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	byAlign, byAlignAlign := h.newEntry(ctx, t, tn, "submitted")
	byRetry, byRetryAlign := h.newEntry(ctx, t, tn, "submitted")

	restore := h.failEntryUpdates(t, "40001", "simulated crash")
	first, second := uuid.NewString(), uuid.NewString()
	for _, d := range []struct{ id, align string }{{first, byAlignAlign}, {second, byRetryAlign}} {
		if code, result := h.deliver(t, tn, d.id, "time.approved", d.align, ""); code != 500 || result != "error" {
			t.Fatalf("during the failure: %d %s, want 500 error so that Align retries", code, result)
		}
		if st := h.deliveryStatus(t, d.id); st != "received" {
			t.Fatalf("delivery %s after the failure, want received", st)
		}
	}
	restore()

	if code, result := h.deliver(t, tn, first, "time.approved", byAlignAlign, ""); code != 200 || result != "processed" {
		t.Fatalf("Align's next attempt: %d %s, want 200 processed", code, result)
	}
	if st, _ := h.entry(t, byAlign); st != "approved" || h.deliveryStatus(t, first) != "processed" {
		t.Fatalf("after Align's next attempt: entry %s, delivery %s", st, h.deliveryStatus(t, first))
	}

	// A received delivery younger than a minute may be in its request's hands.
	res, err := h.receiver.RetryFailed(ctx, tn.companyID)
	if err != nil || res.Retried != 0 {
		t.Fatalf("retry of a fresh received delivery: %+v %v, want none", res, err)
	}
	mustExec(t, h.pool, `UPDATE align_sync.webhook_deliveries SET received_at = now() - interval '2 minutes' WHERE delivery_id = $1`, second)
	res, err = h.receiver.RetryFailed(ctx, tn.companyID)
	if err != nil || res.Retried != 1 || res.Processed != 1 {
		t.Fatalf("retry: %+v %v, want the received delivery processed", res, err)
	}
	if st, _ := h.entry(t, byRetry); st != "approved" || h.deliveryStatus(t, second) != "processed" {
		t.Fatalf("after Retry Failed: entry %s, delivery %s", st, h.deliveryStatus(t, second))
	}
	if n := h.countDeliveries(t); n != 2 {
		t.Fatalf("%d deliveries recorded, want 2", n)
	}
}

// A processing failure that is not transient leaves the delivery failed with
// the error, for Retry Failed.
func TestProcessingFailureLeavesDeliveryFailedWithError(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	restore := h.failEntryUpdates(t, "P0001", "time entry is frozen")
	id := uuid.NewString()
	if code, result := h.deliver(t, tn, id, "time.approved", alignID, ""); code != 200 || result != "failed" {
		t.Fatalf("%d %s, want 200 failed", code, result)
	}
	d := h.deliveries(t, id)
	if len(d) != 1 || d[0].Status != "failed" || d[0].Error == nil || !strings.Contains(*d[0].Error, "time entry is frozen") {
		t.Fatalf("record %+v", d)
	}
	restore()
	if res, err := h.receiver.RetryFailed(ctx, tn.companyID); err != nil || res.Processed != 1 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if st, _ := h.entry(t, entryID); st != "approved" {
		t.Fatalf("entry %s after the retry, want approved", st)
	}
}
