package systemtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
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

// managers play each organization's Align approvers through the simulator's
// control API: they approve or reject what was submitted, lock what was
// approved and invoice what was locked.
type managers struct {
	ctl       *alignsim.Control
	companies []company
	seed      uint64
	every     time.Duration
	actions   atomic.Int64
}

var rejectionReasons = []string{"Wrong project code", "Hours exceed the approved estimate", "Missing task description"}

func (m *managers) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, c := range m.companies {
		rng := rand.New(rand.NewPCG(m.seed, 1000+uint64(i)))
		wg.Go(func() {
			tick := time.NewTicker(m.every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				m.manage(ctx, c, rng)
			}
		})
	}
	wg.Wait()
}

func (m *managers) manage(ctx context.Context, c company, rng *rand.Rand) {
	st, err := m.ctl.State(ctx, c.Org.OrganizationID)
	if err != nil {
		return
	}
	for _, e := range st.TimeEntries {
		var err error
		switch {
		case e.Status == "submitted" && rng.IntN(100) < 60:
			if rng.IntN(100) < 25 {
				_, err = m.ctl.Reject(ctx, e.ID, rejectionReasons[rng.IntN(len(rejectionReasons))])
			} else {
				_, err = m.ctl.Approve(ctx, e.ID)
			}
		case e.Status == "approved" && rng.IntN(100) < 50:
			_, err = m.ctl.Lock(ctx, e.ID)
		case e.Status == "locked" && rng.IntN(100) < 50:
			_, err = m.ctl.Invoice(ctx, e.ID)
		default:
			continue
		}
		if err == nil {
			m.actions.Add(1)
		}
	}
}
