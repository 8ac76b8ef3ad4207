package admin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// postSigned sends one delivery signed with secret and returns the status.
func postSigned(t testing.TB, url, secret, orgID, alignEntryID, eventName string) int {
	t.Helper()
	id := uuid.NewString()
	body, _ := json.Marshal(map[string]any{"id": id, "eventName": eventName, "organizationId": orgID,
		"occurredAt": time.Now().UTC().Format(time.RFC3339Nano), "data": map[string]any{"timeEntryId": alignEntryID}})
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, _ := wh.Sign(id, now, body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
