package alignsim

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

type createdWebhook struct {
	webhookView
	HMACSecret string `json:"hmacSecret"`
}

func (f fixture) webhook(url string, events ...string) createdWebhook {
	var wh createdWebhook
	f.api.must(201, "POST", "/webhooks", map[string]any{"destinationUrl": url, "eventNames": events}, &wh)
	return wh
}

func (e *env) deliveries(orgID string) []Delivery { return e.state(orgID).Deliveries }

func TestWebhookSignatureAndEnvelope(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	rcv := newReceiver(t, always(204))
	wh := f.webhook(rcv.srv.URL, eventNames...)
	body := f.entryBody("sig-1", 90)
	body["externalMetadata"] = map[string]any{"rateCents": 9000}
	var en entryView
	f.api.must(201, "POST", "/integration/time-entries", body, &en)
	f.submit(en.ID)
	if _, err := e.ctl.Reject(e.ctx, en.ID, "Wrong project code"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two deliveries", func() bool { return rcv.count() == 2 })

	verifier, err := standardwebhooks.NewWebhook(wh.HMACSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range rcv.requests() {
		if err := verifier.Verify(got.body, got.header); err != nil {
			t.Errorf("signature does not verify: %v", err)
		}
	}
	// Deliveries are concurrent, so the rejection may arrive first.
	var env envelopeJSON
	var last delivered
	for _, r := range rcv.requests() {
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Fatal(err)
		}
		if env.EventName == "time.rejected" {
			last = r
			break
		}
	}
	want := envelopeJSON{ID: last.header.Get("webhook-id"), EventName: "time.rejected", OrganizationID: f.org.OrganizationID}
	want.Data.TimeEntryID, want.Data.ProjectID, want.Data.UserID = en.ID, f.projectID, f.userID
	want.Data.Status, want.Data.Minutes, want.Data.CostCents = "rejected", 90, 13500
	want.Data.ExternalSystem, want.Data.ExternalID, want.Data.RejectionReason = "illumera", "sig-1", "Wrong project code"
	env.OccurredAt = ""
	if env != want {
		t.Errorf("envelope\n%+v\nwant\n%+v", env, want)
	}
	var list page[map[string]any]
	f.api.must(200, "GET", "/webhooks", nil, &list)
	if _, leaked := list.Data[0]["hmacSecret"]; leaked || list.Total != 1 {
		t.Errorf("GET /webhooks: %+v", list)
	}
}

type envelopeJSON struct {
	ID             string `json:"id"`
	EventName      string `json:"eventName"`
	OccurredAt     string `json:"occurredAt"`
	OrganizationID string `json:"organizationId"`
	Data           struct {
		TimeEntryID     string `json:"timeEntryId"`
		ProjectID       string `json:"projectId"`
		UserID          string `json:"userId"`
		Status          string `json:"status"`
		Minutes         int    `json:"minutes"`
		CostCents       int64  `json:"costCents"`
		ExternalSystem  string `json:"externalSystem"`
		ExternalID      string `json:"externalId"`
		RejectionReason string `json:"rejectionReason"`
	} `json:"data"`
}

func TestWebhookSubscriptions(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	approvals := newReceiver(t, always(200))
	everything := newReceiver(t, always(200))
	f.webhook(approvals.srv.URL, "time.approved")
	f.webhook(everything.srv.URL, eventNames...)
	_, otherAPI := e.newOrg(true)
	foreign := newReceiver(t, always(200))
	otherAPI.must(201, "POST", "/webhooks", map[string]any{"destinationUrl": foreign.srv.URL, "eventNames": eventNames}, nil)

	en := f.entry("sub-1", 60)
	f.submit(en.ID)
	for _, act := range []func(ctx context.Context, id string) (TimeEntry, error){e.ctl.Approve, e.ctl.Lock, e.ctl.Invoice} {
		if _, err := act(e.ctx, en.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all deliveries", func() bool { return approvals.count() == 1 && everything.count() == 4 })
	names := map[string]bool{}
	for _, r := range everything.requests() {
		var env envelopeJSON
		_ = json.Unmarshal(r.body, &env)
		names[env.EventName] = true
	}
	for _, n := range []string{"time.submitted", "time.approved", "time.locked", "time.invoiced"} {
		if !names[n] {
			t.Errorf("no %s delivery", n)
		}
	}
	if foreign.count() != 0 {
		t.Error("another organization's webhook got a delivery")
	}
	waitFor(t, "deliveries recorded", func() bool {
		for _, d := range e.deliveries(f.org.OrganizationID) {
			if !d.Delivered {
				return false
			}
		}
		return true
	})
}

func TestWebhookRetriesReuseTheDeliveryID(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	if err := e.ctl.SetWebhookSchedule(e.ctx, []int{10, 10, 10}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, func(n int) int {
		if n < 2 {
			return 500
		}
		return 200
	})
	wh := f.webhook(rcv.srv.URL, "time.submitted")
	en := f.entry("retry-1", 30)
	f.submit(en.ID)
	waitFor(t, "delivered", func() bool {
		ds := e.deliveries(f.org.OrganizationID)
		return len(ds) == 1 && ds[0].State == DeliveryDelivered
	})
	got := rcv.requests()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	verifier, _ := standardwebhooks.NewWebhook(wh.HMACSecret)
	for i, r := range got {
		if id := r.header.Get("webhook-id"); id != got[0].header.Get("webhook-id") {
			t.Errorf("attempt %d has id %s, want %s", i, id, got[0].header.Get("webhook-id"))
		}
		if err := verifier.Verify(r.body, r.header); err != nil {
			t.Errorf("attempt %d: %v", i, err)
		}
	}
	d := e.deliveries(f.org.OrganizationID)[0]
	if d.Attempts != 3 || d.LastStatus != 200 || !d.Delivered || d.ID != got[0].header.Get("webhook-id") {
		t.Errorf("delivery record %+v", d)
	}
}

func TestWebhookGivesUpAfterTheSchedule(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	if err := e.ctl.SetWebhookSchedule(e.ctx, []int{5, 5}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, always(503))
	f.webhook(rcv.srv.URL, "time.submitted")
	f.submit(f.entry("fail-1", 30).ID)
	waitFor(t, "failed", func() bool {
		ds := e.deliveries(f.org.OrganizationID)
		return len(ds) == 1 && ds[0].State == DeliveryFailed
	})
	if d := e.deliveries(f.org.OrganizationID)[0]; d.Attempts != 3 || d.LastStatus != 503 || d.Delivered {
		t.Errorf("delivery record %+v", d)
	}
	if rcv.count() != 3 {
		t.Errorf("%d requests, want 3", rcv.count())
	}
}

func TestWebhookDropFault(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	rcv := newReceiver(t, always(200))
	f.webhook(rcv.srv.URL, "time.submitted", "time.approved")
	e.setFaults(Faults{DropWebhooks: Ptr(1.0)})
	en := f.entry("drop-1", 30)
	f.submit(en.ID)
	ds := e.deliveries(f.org.OrganizationID) // dropping is decided when the event fires
	if len(ds) != 1 || ds[0].State != DeliveryDropped || ds[0].Attempts != 0 {
		t.Fatalf("deliveries %+v, want one dropped", ds)
	}
	e.setFaults(Faults{DropWebhooks: Ptr(0.0)})
	if _, err := e.ctl.Approve(e.ctx, en.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the approval", func() bool { return rcv.count() >= 1 })
	var env envelopeJSON
	_ = json.Unmarshal(rcv.requests()[0].body, &env)
	if rcv.count() != 1 || env.EventName != "time.approved" {
		t.Errorf("receiver got %d requests, first %s: the dropped one was sent", rcv.count(), env.EventName)
	}
}

func TestWebhookDuplicateFault(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	rcv := newReceiver(t, always(200))
	f.webhook(rcv.srv.URL, "time.submitted")
	e.setFaults(Faults{DuplicateWebhooks: Ptr(1.0)})
	f.submit(f.entry("dup-1", 30).ID)
	waitFor(t, "two copies", func() bool { return rcv.count() == 2 })
	got := rcv.requests()
	if got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") {
		t.Error("the copies have different ids")
	}
	waitFor(t, "delivered", func() bool {
		ds := e.deliveries(f.org.OrganizationID)
		return ds[0].Delivered && ds[0].Duplicated && ds[0].Attempts == 2
	})
}

func TestWebhookReorderFaultStillDelivers(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	rcv := newReceiver(t, always(200))
	f.webhook(rcv.srv.URL, eventNames...)
	e.setFaults(Faults{ReorderWebhooks: Ptr(true)})
	en := f.entry("reorder-1", 30)
	f.submit(en.ID)
	if _, err := e.ctl.Approve(e.ctx, en.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both deliveries", func() bool { return rcv.count() == 2 })
}

func TestDeletingAWebhookDropsPendingDeliveries(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	if err := e.ctl.SetWebhookSchedule(e.ctx, []int{3_600_000}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, always(500))
	wh := f.webhook(rcv.srv.URL, "time.submitted")
	f.submit(f.entry("del-1", 30).ID)
	waitFor(t, "first attempt", func() bool {
		ds := e.deliveries(f.org.OrganizationID)
		return len(ds) == 1 && ds[0].Attempts == 1
	})
	f.api.must(204, "DELETE", "/webhooks/"+wh.ID, nil, nil)
	if d := e.deliveries(f.org.OrganizationID)[0]; d.State != DeliveryDropped {
		t.Errorf("state %s, want dropped", d.State)
	}
	expectError(t, f.api.do("DELETE", "/webhooks/"+wh.ID, nil), 404, codeNotFound)
	// Close must not wait an hour for the retry: it was cancelled.
	closed := make(chan struct{})
	go func() { e.sim.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}

func TestCloseStopsPendingDeliveries(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	if err := e.ctl.SetWebhookSchedule(e.ctx, []int{3_600_000}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, always(500))
	f.webhook(rcv.srv.URL, "time.submitted")
	for i := range 5 {
		f.submit(f.entry("close-"+strconv.Itoa(i), 30).ID)
	}
	waitFor(t, "first attempts", func() bool { return rcv.count() == 5 })
	closed := make(chan struct{})
	go func() { e.sim.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	f.webhook(rcv.srv.URL, "time.submitted")
	f.submit(f.entry("after-close", 30).ID) // answered, but nothing is sent any more
	for _, d := range e.deliveries(f.org.OrganizationID)[5:] {
		if d.State != DeliveryDropped {
			t.Errorf("delivery after Close is %s, want dropped", d.State)
		}
	}
}
