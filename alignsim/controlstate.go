package alignsim

import (
	"encoding/json"
	"time"
)

func simGetFaults(c *call) (reply, error) { return replyOK(c.s.faults), nil }

// simPutFaults merges the given fields into the current settings.
func simPutFaults(c *call) (reply, error) {
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	next, err := mergeFaults(c.s.faults, f)
	if err != nil {
		return reply{}, err
	}
	c.s.faults = next
	c.s.log.Info("faults changed", "faults", next)
	return replyOK(next), nil
}

type scheduleView struct {
	RetryDelaysMs []int `json:"retryDelaysMs"`
}

func simGetSchedule(c *call) (reply, error) { return replyOK(scheduleView{c.s.retryDelays}), nil }

// maxRetryDelayMs is one day: longer would outlive any test or demo.
const maxRetryDelayMs = int(24 * time.Hour / time.Millisecond)

func simPutSchedule(c *call) (reply, error) {
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	delays, given := f.optIntList("retryDelaysMs")
	if !given {
		f.fail("retryDelaysMs", "is required: a list of delays in milliseconds")
	}
	for _, d := range delays {
		if d < 0 || d > maxRetryDelayMs {
			f.fail("retryDelaysMs", "each delay must be between 0 and %d", maxRetryDelayMs)
		}
	}
	if err := f.done(); err != nil {
		return reply{}, err
	}
	c.s.retryDelays = append([]int{}, delays...)
	c.s.log.Info("webhook retry schedule changed", "retryDelaysMs", delays)
	return replyOK(scheduleView{c.s.retryDelays}), nil
}

func simReset(c *call) (reply, error) {
	c.s.resetLocked()
	c.s.log.Info("simulator reset")
	return replyOK(map[string]any{}), nil
}

// stateView is one organization's dump (GET /_sim/state?org=). Entities use
// their API shapes; members carry their project and users their metadata.
type stateView struct {
	Projects         []projectView   `json:"projects"`
	Users            []userStateView `json:"users"`
	Members          []memberState   `json:"members"`
	TimeEntries      []entryView     `json:"timeEntries"`
	WikiPages        []wikiView      `json:"wikiPages"`
	IntegrationLinks []linkView      `json:"integrationLinks"`
	Webhooks         []webhookView   `json:"webhooks"`
	Deliveries       []deliveryView  `json:"deliveries"`
}

type userStateView struct {
	userView
	Metadata json.RawMessage `json:"metadata"`
}

type memberState struct {
	ProjectID string `json:"projectId"`
	memberView
}

type deliveryView struct {
	ID          string `json:"id"`
	WebhookID   string `json:"webhookId"`
	EventName   string `json:"eventName"`
	TimeEntryID string `json:"timeEntryId"`
	OccurredAt  string `json:"occurredAt"`
	Attempts    int    `json:"attempts"`
	LastStatus  int    `json:"lastStatus"`
	LastError   string `json:"lastError"`
	Delivered   bool   `json:"delivered"`
	State       string `json:"state"`
	Duplicated  bool   `json:"duplicated"`
}

func simState(c *call) (reply, error) {
	if id := c.query.Get("org"); id != "" {
		o := c.s.st.orgs[id]
		if o == nil {
			return reply{}, errNotFound("organization %s not found", id)
		}
		return replyOK(dumpOrg(o)), nil
	}
	all := map[string]stateView{}
	for _, o := range c.s.st.orgOrder {
		all[o.id] = dumpOrg(o)
	}
	return replyOK(all), nil
}

func dumpOrg(o *org) stateView {
	v := stateView{
		Projects:         mapAll(o.projects, viewProject),
		Users:            mapAll(o.users, func(u *user) userStateView { return userStateView{viewUser(u), u.metadata} }),
		TimeEntries:      mapAll(o.entries, viewEntry),
		IntegrationLinks: mapAll(o.links, viewLink),
		Webhooks:         mapAll(o.webhooks, viewWebhook),
		Deliveries:       mapAll(o.deliveries, viewDelivery),
		Members:          []memberState{},
		WikiPages:        []wikiView{},
	}
	for _, p := range o.projects {
		for _, m := range p.members {
			v.Members = append(v.Members, memberState{p.id, viewMember(m)})
		}
		v.WikiPages = append(v.WikiPages, mapAll(p.wikiPages, viewWikiPage)...)
	}
	return v
}

func viewDelivery(d *delivery) deliveryView {
	return deliveryView{d.id, d.webhookID, d.eventName, d.timeEntryID, stamp(d.occurredAt),
		d.attempts, d.lastStatus, d.lastError, d.state == DeliveryDelivered, d.state, d.duplicated}
}

func mapAll[T, V any](items []T, view func(T) V) []V {
	out := make([]V, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	return out
}
