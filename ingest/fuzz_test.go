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
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// FuzzWebhookHandler posts any body with any headers, signed correctly or not,
// to a live connection: the receiver must neither panic nor answer 5xx.
func FuzzWebhookHandler(f *testing.F) {
	ctx := context.Background()
	h := newHarnessOn(f, testenvPool(f))
	tn := h.newTenant(ctx, f)
	_, alignID := h.newEntry(ctx, f, tn, "submitted")

	id := uuid.NewString()
	valid := event(id, "time.approved", tn.orgID, alignID, "")
	f.Add(valid, "webhook-id: "+id, true)
	f.Add(valid, "webhook-id: "+id+"\nwebhook-timestamp: 1\nwebhook-signature: v1,AAAA", false)
	f.Add(event(id, "time.rejected", tn.orgID, alignID, "Wrong project code"), "webhook-id: "+id, true)
	f.Add(event(uuid.NewString(), "time.invoiced", tn.orgID, uuid.NewString(), ""), "webhook-id: x", true)
	f.Add([]byte(`{"id":"a","eventName":"time.approved","organizationId":"`+tn.orgID+`","data":{"timeEntryId":"\u0000"}}`), "webhook-id: a", true)
	f.Add([]byte(`{"id":"b","eventName":"time.approved","organizationId":"`+tn.orgID+`","data":[1,2]}`), "webhook-id: b", true)
	f.Add([]byte(`{"id":"c","eventName":"time.approved","organizationId":"`+tn.orgID+`","data":{"timeEntryId":"\xff\xfe"}}`), "webhook-id: c", true)
	f.Add([]byte(`{"id":"d\u0000","eventName":"e","organizationId":"`+tn.orgID+`"}`), "webhook-id: d\x00", true)
	f.Add([]byte("null"), "webhook-id: \nwebhook-signature: v1,", true)
	f.Add([]byte{}, "", false)
	f.Add([]byte("{{{{"), "webhook-timestamp: 99999999999999999999\nwebhook-signature: v2,x v1", false)

	f.Fuzz(func(t *testing.T, body []byte, headers string, sign bool) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/align/"+tn.connectionID, bytes.NewReader(body))
		for _, line := range strings.Split(headers, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && validHeaderName(k) {
				req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		if sign {
			wh, err := standardwebhooks.NewWebhook(tn.secret)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			sig, _ := wh.Sign(req.Header.Get("webhook-id"), now, body)
			req.Header.Set("webhook-timestamp", strconvItoa(now.Unix()))
			req.Header.Set("webhook-signature", sig)
		}
		rec := httptest.NewRecorder()
		h.router.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("answered %d: %s", rec.Code, rec.Body.String())
		}
	})
}

func validHeaderName(k string) bool {
	k = strings.TrimSpace(k)
	if k == "" {
		return false
	}
	for _, r := range k {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}
