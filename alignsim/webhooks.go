package alignsim

import (
	crand "crypto/rand"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Webhook event names (align-contract.md §8), one per status a time entry can
// move to.
var statusEvents = map[string]string{
	statusSubmitted: "time.submitted",
	statusApproved:  "time.approved",
	statusRejected:  "time.rejected",
	statusLocked:    "time.locked",
	statusInvoiced:  "time.invoiced",
}

var eventNames = []string{"time.submitted", "time.approved", "time.rejected", "time.locked", "time.invoiced"}

// secretPrefix starts every hmacSecret (the Standard Webhooks convention).
const secretPrefix = "whsec_"

type webhookCreatedView struct {
	webhookView
	HMACSecret string `json:"hmacSecret"`
}

func listWebhooks(c *call) (reply, error) {
	pg, err := parsePage(c.query)
	if err != nil {
		return reply{}, err
	}
	return replyOK(listOf(c.org.webhooks, pg, viewWebhook)), nil
}

func createWebhook(c *call) (reply, error) {
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	dest := f.reqString("destinationUrl")
	if !f.failed() && !validDestination(dest) {
		f.fail("destinationUrl", "must be an absolute http or https URL")
	}
	events, ok := f.optStringList("eventNames")
	if !ok || len(events) == 0 {
		f.fail("eventNames", "is required: a non-empty list of %s", strings.Join(eventNames, ", "))
	}
	for _, name := range events {
		if !slices.Contains(eventNames, name) {
			f.fail("eventNames", "unknown event %q", name)
		}
	}
	if err := f.done(); err != nil {
		return reply{}, err
	}
	key := make([]byte, 32)
	_, _ = crand.Read(key) // never fails (crypto/rand documents it)
	wh := &webhook{id: uuid.NewString(), orgID: c.org.id, url: dest, events: events, key: key, createdAt: c.now}
	c.s.st.addWebhook(c.org, wh)
	c.s.log.Info("webhook created", "organizationId", c.org.id, "webhookId", wh.id, "destinationUrl", dest)
	secret := secretPrefix + base64.StdEncoding.EncodeToString(key)
	return replyCreated(webhookCreatedView{viewWebhook(wh), secret}), nil
}

func validDestination(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// deleteWebhook also drops the webhook's pending deliveries.
func deleteWebhook(c *call) (reply, error) {
	wh := c.s.st.webhook(c.org, c.params[0])
	if wh == nil {
		return reply{}, errNotFound("webhook %s not found", c.params[0])
	}
	c.s.st.removeWebhook(c.org, wh)
	c.s.dropPending(c.org, wh.id)
	return replyNoContent(), nil
}
