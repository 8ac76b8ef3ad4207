package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/illumera/alignsync/admin"
)

type listPage struct {
	Data     []map[string]any `json:"data"`
	Page     int              `json:"page"`
	PageSize int              `json:"pageSize"`
	Total    int              `json:"total"`
}

func TestListings(t *testing.T) {
	s := newStack(t)
	a, b := uuid.NewString(), uuid.NewString()
	statuses := []string{"pending", "failed", "done", "failed", "processing"}
	for i, st := range statuses {
		s.exec(`INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key, status, attempts, last_error)
			VALUES ($1, 'time_entry', $2, 'create', $3, $4, $5, CASE WHEN $4 = 'failed' THEN 'align POST /integration/time-entries: 400 validation_error' END)`,
			a, fmt.Sprint("e", i), uuid.NewString(), st, i)
	}
	s.exec(`INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key, status)
		VALUES ($1, 'project', 'b-only', 'create', 'kb', 'failed')`, b)
	for i, st := range []string{"processed", "failed", "processed"} {
		s.exec(`INSERT INTO align_sync.webhook_deliveries (delivery_id, company_id, connection_id, event_name, status, error, payload)
			VALUES ($1, $2, $3, 'time.approved', $4, CASE WHEN $4 = 'failed' THEN 'unknown time entry x' END, '{}')`,
			fmt.Sprint("d", i), a, uuid.NewString(), st)
	}
	s.exec(`INSERT INTO align_sync.webhook_deliveries (delivery_id, company_id, connection_id, event_name, payload)
		VALUES ('db', $1, $2, 'time.locked', '{}')`, b, uuid.NewString())
	run := uuid.NewString()
	s.exec(`INSERT INTO align_sync.reconciliation_discrepancies (run_id, company_id, field, illumera_value, align_value, detected_at)
		VALUES ($1, $2, 'approved_minutes', 600, 540, now() - interval '1 day'),
		       ($1, $2, 'approved_cost_cents', 90000, 81000, now()),
		       ($1, $3, 'approved_minutes', 1, 2, now())`, run, a, b)

	tok := token(t, a, admin.RoleCompanyAdmin)
	base := "/api/companies/" + a + "/align"
	get := func(path string) (int, listPage) {
		var p listPage
		code := s.call(http.MethodGet, base+path, tok, nil, &p)
		return code, p
	}

	code, p := get("/sync/outbox")
	if code != 200 || p.Total != 5 || len(p.Data) != 5 || p.Data[0]["entityId"] != "e4" || p.Page != 1 || p.PageSize != 50 {
		t.Fatalf("outbox: %d %+v", code, p)
	}
	for _, k := range []string{"entityType", "status", "attempts", "error", "nextRetryAt"} {
		if _, ok := p.Data[0][k]; !ok {
			t.Errorf("outbox item lacks %s: %v", k, p.Data[0])
		}
	}
	if _, p := get("/sync/outbox?status=failed"); p.Total != 2 || p.Data[0]["entityId"] != "e3" || !strings.Contains(p.Data[0]["error"].(string), "validation_error") {
		t.Fatalf("failed outbox: %+v", p)
	}
	if _, p := get("/sync/outbox?pageSize=2&page=2"); p.Total != 5 || len(p.Data) != 2 || p.Data[0]["entityId"] != "e2" {
		t.Fatalf("page 2: %+v", p)
	}
	if _, p := get("/sync/outbox?page=9"); p.Total != 5 || len(p.Data) != 0 {
		t.Fatalf("page beyond the end: %+v", p)
	}
	for _, bad := range []string{"?status=exploded", "?pageSize=101", "?page=0", "?page=x"} {
		if code, _ := get("/sync/outbox" + bad); code != 400 {
			t.Errorf("outbox%s: %d, want 400", bad, code)
		}
	}
	// A page whose offset overflows is refused, naming the value, on every
	// listing; the last page whose offset fits is an empty page.
	for _, listing := range []string{"/sync/outbox", "/webhook-deliveries", "/reconciliation-discrepancies"} {
		for _, huge := range []string{"?page=9223372036854775807", "?page=99999999999999999999", "?pageSize=100&page=92233720368547760"} {
			var e errorView
			code := s.call(http.MethodGet, base+listing+huge, tok, nil, &e)
			value := huge[strings.LastIndex(huge, "=")+1:]
			if code != 400 || e.Error.Code != "validation_error" || !strings.Contains(e.Error.Message, `page "`+value+`"`) {
				t.Errorf("%s%s: %d %+v, want 400 naming the page", listing, huge, code, e)
			}
		}
		if code, p := get(listing + "?pageSize=100&page=92233720368547759"); code != 200 || len(p.Data) != 0 || p.Total == 0 {
			t.Errorf("%s: the last page whose offset fits: %d %+v, want 200 and no rows", listing, code, p)
		}
	}

	code, p = get("/webhook-deliveries")
	if code != 200 || p.Total != 3 || p.Data[0]["deliveryId"] != "d2" {
		t.Fatalf("deliveries: %d %+v", code, p)
	}
	for _, k := range []string{"eventName", "status", "receivedAt", "error"} {
		if _, ok := p.Data[0][k]; !ok {
			t.Errorf("delivery item lacks %s: %v", k, p.Data[0])
		}
	}
	if _, p := get("/webhook-deliveries?status=failed"); p.Total != 1 || p.Data[0]["error"] != "unknown time entry x" {
		t.Fatalf("failed deliveries: %+v", p)
	}

	code, p = get("/reconciliation-discrepancies")
	if code != 200 || p.Total != 2 || p.Data[0]["field"] != "approved_cost_cents" || p.Data[1]["illumeraValue"] != float64(600) || p.Data[1]["alignValue"] != float64(540) {
		t.Fatalf("discrepancies: %d %+v", code, p)
	}
	if _, ok := p.Data[0]["detectedAt"]; !ok {
		t.Errorf("discrepancy lacks detectedAt")
	}

	var reset map[string]int
	if code := s.call(http.MethodPost, base+"/sync/retry-failed", tok, nil, &reset); code != 200 || reset["reset"] != 2 {
		t.Fatalf("retry-failed: %d %v", code, reset)
	}
	if _, p := get("/sync/outbox?status=failed"); p.Total != 0 {
		t.Fatalf("still failed: %+v", p)
	}
	var stillFailedB int
	_ = s.pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.outbox WHERE company_id = $1 AND status = 'failed'`, b).Scan(&stillFailedB)
	if stillFailedB != 1 {
		t.Fatal("retry-failed of A reset B's operations")
	}
}

func TestRetryFailedDeliveriesRoute(t *testing.T) {
	s := newStack(t)
	e := newE2E(t, s)
	en := e.entry(t)
	e.waitDelivered(t)
	// The link is lost (as if the pipeline had not written it yet) when Align approves.
	s.exec(`DELETE FROM align_sync.entity_links WHERE align_id = $1`, en.alignID)
	if _, err := s.ctl.Approve(context.Background(), en.alignID); err != nil {
		t.Fatal(err)
	}
	e.waitDelivered(t)
	var failed listPage
	tok := token(t, e.company, admin.RoleCompanyAdmin)
	base := "/api/companies/" + e.company + "/align"
	s.call(http.MethodGet, base+"/webhook-deliveries?status=failed", tok, nil, &failed)
	if failed.Total != 1 || failed.Data[0]["error"] != "unknown time entry "+en.alignID {
		t.Fatalf("failed deliveries %+v", failed)
	}
	s.exec(`INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id) VALUES ($1, 'time_entry', $2, $3)`,
		e.company, en.illumeraID, en.alignID)
	var res map[string]int
	if code := s.call(http.MethodPost, base+"/webhook-deliveries/retry-failed", tok, nil, &res); code != 200 || res["retried"] != 1 || res["processed"] != 1 || res["failed"] != 0 {
		t.Fatalf("retry: %d %v", code, res)
	}
	if st, _ := e.status(t, en); st != "approved" {
		t.Fatalf("status %s after retry", st)
	}
}

// After a disconnect the old webhook URL answers 404, even to a delivery
// correctly signed with the secret it had.
func TestDisconnectStopsIngest(t *testing.T) {
	s := newStack(t)
	e := newE2E(t, s)
	var connID string
	if err := s.pool.QueryRow(context.Background(), `SELECT connection_id::text FROM align_sync.connections WHERE company_id = $1`, e.company).Scan(&connID); err != nil {
		t.Fatal(err)
	}
	wh, err := s.srv.Connections().WebhookTarget(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	en := e.entry(t)
	e.waitDelivered(t)
	tok := token(t, e.company, admin.RoleCompanyAdmin)
	if code := s.call(http.MethodDelete, connPath(e.company), tok, nil, nil); code != 200 {
		t.Fatalf("disconnect: %d", code)
	}
	if st := e.waitDelivered(t); len(st.Webhooks) != 0 {
		t.Fatalf("webhook still registered at Align: %+v", st.Webhooks)
	}
	code := postSigned(t, s.url+"/webhooks/align/"+connID, wh.Secret, s.org.OrganizationID, en.alignID, "time.approved")
	if code != http.StatusNotFound {
		t.Fatalf("delivery after disconnect: %d, want 404", code)
	}
	if st, _ := e.status(t, en); st != "submitted" {
		t.Fatalf("status %s", st)
	}
	var links int
	_ = s.pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.entity_links WHERE company_id = $1`, e.company).Scan(&links)
	if links != 1 {
		t.Fatalf("%d links after disconnect, want 1", links)
	}
}

func TestOpsEndpointsAndMetricsLint(t *testing.T) {
	s := newStack(t)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(s.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	problems, err := testutil.GatherAndLint(s.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	for _, name := range []string{"alignsync_ingest_webhooks_total", "alignsync_ingest_processing_failures_total",
		"alignsync_connect_attempts_total", "alignsync_admin_auth_failures_total", "alignsync_ingest_webhook_duration_seconds"} {
		if n, err := testutil.GatherAndCount(s.reg, name); err != nil || n == 0 {
			t.Errorf("metric %s missing (%d, %v)", name, n, err)
		}
	}
	var e errorView
	if code := s.call(http.MethodGet, "/nope", "", nil, &e); code != 404 || e.Error.Code != "not_found" {
		t.Errorf("unknown route: %d %+v", code, e)
	}
}
