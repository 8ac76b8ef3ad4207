package ingest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/illumera/alignsync/internal/testenv"
)

func TestValidDeliveryApprovesEntry(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")

	id := uuid.NewString()
	code, result := h.deliver(t, tn, id, "time.approved", alignID, "")
	if code != http.StatusOK || result != "processed" {
		t.Fatalf("got %d %s, want 200 processed", code, result)
	}
	if st, _ := h.entry(t, entryID); st != "approved" {
		t.Fatalf("entry status %s, want approved", st)
	}
	d := h.deliveries(t, id)
	if len(d) != 1 || d[0].Status != "processed" || d[0].Event != "time.approved" || d[0].Error != nil {
		t.Fatalf("delivery record %+v", d)
	}
}

func TestRefusedSignatures(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	a := h.newTenant(ctx, t)
	b := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, a, "submitted")

	tamper := func(id string) *http.Request {
		body := event(id, "time.approved", a.orgID, alignID, "")
		req := signedRequest(t, a.connectionID, a.secret, id, time.Now(), body)
		tampered := bytes.Replace(body, []byte("approved"), []byte("invoiced"), -1)
		req.Body = http.NoBody
		req2 := httptest.NewRequest(http.MethodPost, req.URL.Path, bytes.NewReader(tampered))
		req2.Header = req.Header
		return req2
	}
	cases := []struct {
		name string
		req  func(id string) *http.Request
	}{
		{"tampered body", tamper},
		{"wrong secret", func(id string) *http.Request {
			return signedRequest(t, a.connectionID, "whsec_"+strings.Repeat("QUJD", 8), id, time.Now(),
				event(id, "time.approved", a.orgID, alignID, ""))
		}},
		{"timestamp 6 minutes old", func(id string) *http.Request {
			return signedRequest(t, a.connectionID, a.secret, id, time.Now().Add(-6*time.Minute),
				event(id, "time.approved", a.orgID, alignID, ""))
		}},
		{"another connection's signature", func(id string) *http.Request {
			return signedRequest(t, a.connectionID, b.secret, id, time.Now(),
				event(id, "time.approved", a.orgID, alignID, ""))
		}},
		{"no signature", func(id string) *http.Request {
			req := signedRequest(t, a.connectionID, a.secret, id, time.Now(), event(id, "time.approved", a.orgID, alignID, ""))
			req.Header.Del("webhook-signature")
			return req
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := testenv.CounterValue(t, h.reg, "alignsync_ingest_webhooks_total", "unauthorized")
			id := uuid.NewString()
			if code, result := h.do(tc.req(id)); code != http.StatusUnauthorized || result != "unauthorized" {
				t.Fatalf("got %d %s, want 401 unauthorized", code, result)
			}
			if d := h.deliveries(t, id); len(d) != 0 {
				t.Fatalf("a refused delivery was stored: %+v", d)
			}
			after := testenv.CounterValue(t, h.reg, "alignsync_ingest_webhooks_total", "unauthorized")
			if after != before+1 {
				t.Fatalf("unauthorized counter went %v → %v", before, after)
			}
		})
	}
	if st, _ := h.entry(t, entryID); st != "submitted" {
		t.Fatalf("entry status %s after refused deliveries, want submitted", st)
	}
	if n := h.countDeliveries(t); n != 0 {
		t.Fatalf("%d deliveries stored, want 0", n)
	}
}

func TestDuplicateDeliveryRecordedOnce(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	id := uuid.NewString()
	if code, result := h.deliver(t, tn, id, "time.approved", alignID, ""); code != 200 || result != "processed" {
		t.Fatalf("first: %d %s", code, result)
	}
	// Align signs every attempt afresh; same id, new timestamp.
	if code, result := h.deliver(t, tn, id, "time.approved", alignID, ""); code != 200 || result != "duplicate" {
		t.Fatalf("second: %d %s, want 200 duplicate", code, result)
	}
	if d := h.deliveries(t, id); len(d) != 1 {
		t.Fatalf("%d records, want 1", len(d))
	}
	if st, _ := h.entry(t, entryID); st != "approved" {
		t.Fatalf("status %s", st)
	}
}

// TestDeliveryIDsAreUniquePerConnection: two tenants whose Align deliveries
// carry the same id are each processed for their own connection; only a
// repeat on the same connection is a duplicate.
func TestDeliveryIDsAreUniquePerConnection(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	a, b := h.newTenant(ctx, t), h.newTenant(ctx, t)
	entryA, alignA := h.newEntry(ctx, t, a, "submitted")
	entryB, alignB := h.newEntry(ctx, t, b, "submitted")
	id := uuid.NewString()
	if code, result := h.deliver(t, a, id, "time.approved", alignA, ""); code != 200 || result != "processed" {
		t.Fatalf("tenant A: %d %s, want 200 processed", code, result)
	}
	if code, result := h.deliver(t, b, id, "time.rejected", alignB, "Wrong code"); code != 200 || result != "processed" {
		t.Fatalf("tenant B reusing A's delivery id: %d %s, want 200 processed", code, result)
	}
	if code, result := h.deliver(t, b, id, "time.rejected", alignB, "Wrong code"); code != 200 || result != "duplicate" {
		t.Fatalf("tenant B repeating its own delivery: %d %s, want 200 duplicate", code, result)
	}
	if st, _ := h.entry(t, entryA); st != "approved" {
		t.Errorf("A's entry %s, want approved", st)
	}
	if st, reason := h.entry(t, entryB); st != "rejected" || reason == nil || *reason != "Wrong code" {
		t.Errorf("B's entry %s (%v), want rejected with its reason", st, reason)
	}
	if d := h.deliveries(t, id); len(d) != 2 || d[0].Status != "processed" || d[1].Status != "processed" {
		t.Errorf("delivery records %+v, want one processed per connection", d)
	}
}

func TestOutOfOrderAndRepeatedEndInvoiced(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	ids := map[string]string{"time.approved": uuid.NewString(), "time.locked": uuid.NewString(), "time.invoiced": uuid.NewString()}
	order := []string{"time.invoiced", "time.approved", "time.locked", "time.locked", "time.invoiced", "time.approved"}
	for i, ev := range order {
		code, result := h.deliver(t, tn, ids[ev], ev, alignID, "")
		want := "processed"
		if i >= 3 {
			want = "duplicate"
		}
		if code != 200 || result != want {
			t.Fatalf("delivery %d (%s): %d %s, want 200 %s", i, ev, code, result, want)
		}
	}
	if st, _ := h.entry(t, entryID); st != "invoiced" {
		t.Fatalf("final status %s, want invoiced", st)
	}
	for ev, id := range ids {
		d := h.deliveries(t, id)
		if len(d) != 1 || d[0].Status != "processed" {
			t.Fatalf("%s: records %+v", ev, d)
		}
		if ev != "time.invoiced" && (d[0].Note == nil || !strings.Contains(*d[0].Note, "invoiced")) {
			t.Fatalf("%s: late event without a note: %+v", ev, d[0])
		}
	}
}

func TestRejectedStoresReason(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	if code, result := h.deliver(t, tn, uuid.NewString(), "time.rejected", alignID, "Wrong project code"); code != 200 || result != "processed" {
		t.Fatalf("%d %s", code, result)
	}
	st, reason := h.entry(t, entryID)
	if st != "rejected" || reason == nil || *reason != "Wrong project code" {
		t.Fatalf("entry %s %v, want rejected with the reason", st, reason)
	}

	// A rejection arriving after an approval is late: ignored with a note.
	other, otherAlign := h.newEntry(ctx, t, tn, "approved")
	id := uuid.NewString()
	h.deliver(t, tn, id, "time.rejected", otherAlign, "late")
	if st, reason := h.entry(t, other); st != "approved" || reason != nil {
		t.Fatalf("late rejection changed the entry: %s %v", st, reason)
	}
	if d := h.deliveries(t, id); d[0].Status != "processed" || d[0].Note == nil {
		t.Fatalf("late rejection record %+v", d[0])
	}
}

func TestUnknownEntryFails(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	alignID := uuid.NewString()
	id := uuid.NewString()
	if code, result := h.deliver(t, tn, id, "time.approved", alignID, ""); code != 200 || result != "failed" {
		t.Fatalf("%d %s, want 200 failed", code, result)
	}
	d := h.deliveries(t, id)
	if len(d) != 1 || d[0].Status != "failed" || d[0].Error == nil || *d[0].Error != "unknown time entry "+alignID {
		t.Fatalf("record %+v", d)
	}
	if v := testenv.CounterValue(t, h.reg, "alignsync_ingest_processing_failures_total", "unknown_time_entry"); v != 1 {
		t.Fatalf("processing failures %v", v)
	}
}

func TestUnknownEventRecordedAndIgnored(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	id := uuid.NewString()
	body := []byte(`{"id":"` + id + `","eventName":"project.archived","organizationId":"` + tn.orgID + `","data":{"projectId":"x"}}`)
	if code, result := h.do(signedRequest(t, tn.connectionID, tn.secret, id, time.Now(), body)); code != 200 || result != "processed" {
		t.Fatalf("%d %s", code, result)
	}
	d := h.deliveries(t, id)
	if len(d) != 1 || d[0].Note == nil || !strings.Contains(*d[0].Note, "ignored") {
		t.Fatalf("record %+v", d)
	}
}

func TestRefusedRequests(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	gone := h.newTenant(ctx, t)
	mustExec(t, h.pool, `UPDATE align_sync.connections SET status = 'disconnected', api_key_ciphertext = NULL,
		webhook_secret_ciphertext = NULL WHERE company_id = $1`, gone.companyID)
	_, alignID := h.newEntry(ctx, t, tn, "submitted")

	id := uuid.NewString()
	cases := []struct {
		name   string
		req    *http.Request
		code   int
		result string
	}{
		{"organization of another tenant", signedRequest(t, tn.connectionID, tn.secret, id, time.Now(),
			event(id, "time.approved", uuid.NewString(), alignID, "")), 403, "forbidden"},
		{"unknown connection", signedRequest(t, uuid.NewString(), tn.secret, id, time.Now(),
			event(id, "time.approved", tn.orgID, alignID, "")), 404, "not_found"},
		{"not a connection id", signedRequest(t, "nope", tn.secret, id, time.Now(),
			event(id, "time.approved", tn.orgID, alignID, "")), 404, "not_found"},
		{"disconnected connection", signedRequest(t, gone.connectionID, gone.secret, id, time.Now(),
			event(id, "time.approved", gone.orgID, alignID, "")), 404, "not_found"},
		{"webhook-id differs from the envelope id", signedRequest(t, tn.connectionID, tn.secret, uuid.NewString(), time.Now(),
			event(id, "time.approved", tn.orgID, alignID, "")), 400, "invalid"},
		{"not JSON", signedRequest(t, tn.connectionID, tn.secret, id, time.Now(), []byte("hello")), 400, "invalid"},
		{"NUL escape PostgreSQL refuses", signedRequest(t, tn.connectionID, tn.secret, id, time.Now(),
			[]byte(`{"id":"`+id+`","eventName":"x","organizationId":"`+tn.orgID+`","data":{"a":"\u0000"}}`)), 400, "invalid"},
		{"body over 1 MiB", signedRequest(t, tn.connectionID, tn.secret, id, time.Now(),
			bytes.Repeat([]byte(" "), 1<<20+1)), 413, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, result := h.do(tc.req); code != tc.code || result != tc.result {
				t.Fatalf("got %d %s, want %d %s", code, result, tc.code, tc.result)
			}
		})
	}
	if n := h.countDeliveries(t); n != 0 {
		t.Fatalf("%d deliveries stored, want 0", n)
	}
}

// A connection changes only its own company's entries, even when a delivery
// names another company's Align entry or a link is wrong.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	a := h.newTenant(ctx, t)
	b := h.newTenant(ctx, t)
	bEntry, bAlign := h.newEntry(ctx, t, b, "submitted")

	id := uuid.NewString()
	if code, result := h.deliver(t, a, id, "time.approved", bAlign, ""); code != 200 || result != "failed" {
		t.Fatalf("A naming B's Align entry: %d %s, want 200 failed", code, result)
	}
	if d := h.deliveries(t, id); *d[0].Error != "unknown time entry "+bAlign {
		t.Fatalf("record %+v", d[0])
	}

	// Even a link in A's company that points at B's Illumera entry is refused.
	forged := uuid.NewString()
	mustExec(t, h.pool, `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		VALUES ($1, 'time_entry', $2, $3)`, a.companyID, bEntry, forged)
	id = uuid.NewString()
	if code, result := h.deliver(t, a, id, "time.approved", forged, ""); code != 200 || result != "failed" {
		t.Fatalf("forged link: %d %s, want 200 failed", code, result)
	}
	if st, _ := h.entry(t, bEntry); st != "submitted" {
		t.Fatalf("B's entry became %s through A's connection", st)
	}
	var bDeliveries int
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.webhook_deliveries WHERE company_id = $1`, b.companyID).Scan(&bDeliveries); err != nil {
		t.Fatal(err)
	}
	if bDeliveries != 0 {
		t.Fatalf("%d deliveries recorded under B", bDeliveries)
	}
}

func TestRetryFailedDeliveries(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	other := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	// The delivery arrives before the pipeline wrote the link.
	mustExec(t, h.pool, `DELETE FROM align_sync.entity_links WHERE align_id = $1`, alignID)
	id := uuid.NewString()
	if _, result := h.deliver(t, tn, id, "time.approved", alignID, ""); result != "failed" {
		t.Fatalf("result %s", result)
	}
	// Another company's failure is not retried by this company.
	h.deliver(t, other, uuid.NewString(), "time.approved", uuid.NewString(), "")

	mustExec(t, h.pool, `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		VALUES ($1, 'time_entry', $2, $3)`, tn.companyID, entryID, alignID)
	res, err := h.receiver.RetryFailed(ctx, tn.companyID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Retried != 1 || res.Processed != 1 || res.Failed != 0 {
		t.Fatalf("retry result %+v", res)
	}
	if d := h.deliveries(t, id); d[0].Status != "processed" || d[0].Error != nil {
		t.Fatalf("record %+v", d[0])
	}
	if st, _ := h.entry(t, entryID); st != "approved" {
		t.Fatalf("status %s", st)
	}
	var otherFailed int
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.webhook_deliveries WHERE company_id = $1 AND status = 'failed'`, other.companyID).Scan(&otherFailed); err != nil {
		t.Fatal(err)
	}
	if otherFailed != 1 {
		t.Fatalf("other company's failed deliveries: %d, want 1", otherFailed)
	}
}

func TestMetricsLint(t *testing.T) {
	h := newHarness(t)
	problems, err := testutil.GatherAndLint(h.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// The receiver caches connections; a connection disconnected (or replaced by
// a reconnect) after it was cached still refuses deliveries at once.
func TestDisconnectWhileCached(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	tn := h.newTenant(ctx, t)
	replaced := h.newTenant(ctx, t)
	entryID, alignID := h.newEntry(ctx, t, tn, "submitted")
	_, otherAlign := h.newEntry(ctx, t, replaced, "submitted")
	for _, x := range []struct {
		tn    tenant
		align string
	}{{tn, alignID}, {replaced, otherAlign}} {
		if code, result := h.deliver(t, x.tn, uuid.NewString(), "time.submitted", x.align, ""); code != 200 || result != "processed" {
			t.Fatalf("warming the cache: %d %s", code, result)
		}
	}
	mustExec(t, h.pool, `UPDATE align_sync.connections SET status = 'disconnected', api_key_ciphertext = NULL,
		webhook_secret_ciphertext = NULL WHERE company_id = $1`, tn.companyID)
	mustExec(t, h.pool, `UPDATE align_sync.connections SET connection_id = gen_random_uuid() WHERE company_id = $1`, replaced.companyID)

	for _, x := range []struct {
		tn    tenant
		align string
	}{{tn, alignID}, {replaced, otherAlign}} {
		id := uuid.NewString()
		if code, result := h.deliver(t, x.tn, id, "time.approved", x.align, ""); code != 404 || result != "not_found" {
			t.Fatalf("after disconnect: %d %s, want 404", code, result)
		}
		if d := h.deliveries(t, id); len(d) != 0 {
			t.Fatalf("recorded %+v", d)
		}
	}
	if st, _ := h.entry(t, entryID); st != "submitted" {
		t.Fatalf("status %s after a delivery to a disconnected connection", st)
	}
}
