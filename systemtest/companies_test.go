package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/alignsim"
)

// company is one Illumera tenant and the simulated Align organization it is
// connected to.
type company struct {
	ID   string
	Name string
	Org  alignsim.Org
}

// connectCompanies creates n companies, each with an Align organization of
// its own, and connects each through serve's admin API as a company admin
// would: PUT an organization key minted in Align.
func (c *cluster) connectCompanies(ctx context.Context, n int) []company {
	var out []company
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("Company %d", i)
		org, err := c.ctl.CreateOrg(ctx, name, true)
		if err != nil {
			c.t.Fatalf("creating the Align organization of %s: %v", name, err)
		}
		co := company{ID: uuid.NewString(), Name: name, Org: org}
		if _, err := c.env.Pool.Exec(ctx, `INSERT INTO companies (id, name) VALUES ($1, $2)`, co.ID, name); err != nil {
			c.t.Fatalf("creating %s: %v", name, err)
		}
		key, err := c.ctl.MintKey(ctx, org.OrganizationID, alignsim.KeyRequest{Scope: alignsim.ScopeOrganization, Name: "alignsync"})
		if err != nil {
			c.t.Fatalf("minting the Align key of %s: %v", name, err)
		}
		var conn struct {
			Status string `json:"status"`
		}
		if err := c.adminAPI(ctx, http.MethodPut, co.ID, "/connection", map[string]string{"apiKey": key.Key}, &conn); err != nil {
			c.t.Fatalf("connecting %s: %v", name, err)
		}
		if conn.Status != "connected" {
			c.t.Fatalf("connecting %s: status %q, want connected", name, conn.Status)
		}
		out = append(out, co)
	}
	return out
}

// managers play each organization's Align approvers. They see what waits
// for them as Align's pages would, through the API with the organization's
// own key (so Align's faults hit them too, on a rate budget of their own),
// and act through the simulator's control API: approve or reject what was
// submitted, lock what was approved, invoice what was locked.
type managers struct {
	ctl       *alignsim.Control
	apiURL    string // Align API root
	companies []company
	seed      uint64
	every     time.Duration
	actions   atomic.Int64
}

var rejectionReasons = []string{"Wrong project code", "Hours exceed the approved estimate", "Missing task description"}

func (m *managers) run(ctx context.Context) {
	everyCompany(ctx, m.companies, m.every, m.seed, 1000, func(c company, rng *rand.Rand) {
		for _, status := range []string{"submitted", "approved", "locked"} {
			m.manage(ctx, c, status, rng)
		}
	})
}

// manage acts on the first page of the organization's entries in status.
func (m *managers) manage(ctx context.Context, c company, status string, rng *rand.Rand) {
	ids, err := m.waiting(ctx, c, status)
	if err != nil {
		return // a fault of Align's: the next round sees them
	}
	for _, id := range ids {
		var err error
		switch r := rng.IntN(100); {
		case status == "submitted" && r < 15:
			_, err = m.ctl.Reject(ctx, id, rejectionReasons[rng.IntN(len(rejectionReasons))])
		case status == "submitted" && r < 60:
			_, err = m.ctl.Approve(ctx, id)
		case status == "approved" && r < 50:
			_, err = m.ctl.Lock(ctx, id)
		case status == "locked" && r < 50:
			_, err = m.ctl.Invoice(ctx, id)
		default:
			continue
		}
		if err == nil {
			m.actions.Add(1)
		}
	}
}

// waiting lists the ids of the organization's time entries in status.
func (m *managers) waiting(ctx context.Context, c company, status string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.apiURL+"/time-entries?pageSize=100&status="+status, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Org.OrgKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing %s time entries: %s", status, resp.Status)
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, err
	}
	ids := make([]string, len(page.Data))
	for i, e := range page.Data {
		ids[i] = e.ID
	}
	return ids, nil
}
