package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/change"
	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
)

// A company this instance holds idle runs the work another instance recorded
// at once, under the same lease, instead of waiting out its hold (here ten
// minutes, far longer than the test waits).
func TestHeldCompanyRunsWorkRecordedElsewhere(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Held")
	f := h.seed(company)
	h.startSink(Config{IdleHold: 10 * time.Minute, SessionMax: 10 * time.Minute})
	h.emit("projects", "c", nil, f.projectRow("active"))
	h.waitFor(org, "the project", func(s alignsim.State) bool { return len(s.Projects) == 1 && len(s.WikiPages) == 1 })
	h.waitOutbox(company, "every operation done", func(c map[string]int) bool { return c["done"] > 0 && len(c) == 1 })
	owner, epoch := h.lease(company)
	if owner == "" {
		t.Fatal("the sink handed the company back at once; want it held idle")
	}

	// Another instance's intake (as resync and reconcile do) records a rename.
	renamed := f.projectRow("active")
	renamed["title"] = "Radar II"
	ops := translate.Translate(translate.Change{Table: "projects", Op: change.OpUpdate, Before: f.projectRow("active"), After: renamed})
	if err := ledger.Enqueue(h.ctx(), h.env.Pool, company, "elsewhere", ops); err != nil {
		t.Fatal(err)
	}
	h.waitFor(org, "the rename", func(s alignsim.State) bool { return len(s.Projects) == 1 && s.Projects[0].Name == "Radar II" })
	if o, e := h.lease(company); o != owner || e != epoch {
		t.Fatalf("the rename ran under lease %s/%d, want the held one %s/%d", o, e, owner, epoch)
	}
}

// lease is the company's lease holder and epoch ("" when free).
func (h *harness) lease(company string) (owner string, epoch int64) {
	h.t.Helper()
	var o *string
	if err := h.env.Pool.QueryRow(context.Background(), `SELECT lease_owner, lease_epoch FROM align_sync.lanes WHERE company_id = $1`,
		company).Scan(&o, &epoch); err != nil {
		h.t.Fatal(err)
	}
	if o != nil {
		owner = *o
	}
	return owner, epoch
}
