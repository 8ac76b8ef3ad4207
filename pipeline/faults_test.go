package pipeline

import (
	"context"
	"fmt"
	"testing"

	"github.com/illumera/alignsync/alignsim"
)

// TestConvergesUnderAlignFaults: 20 % of Align's answers are 503 and each key
// may make 120 requests a minute; 2,000 changes over 20 companies still end
// in exactly the expected state, every operation done.
func TestConvergesUnderAlignFaults(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var companies []*companyWork
	for i := 0; i < 20; i++ {
		id, org := w.connectCompany(fmt.Sprintf("Faulty %02d", i))
		companies = append(companies, &companyWork{id: id, org: org})
	}
	if _, err := w.env.Align.Control.SetFaults(ctx, alignsim.Faults{ErrorRate: alignsim.Ptr(0.2), Status: alignsim.Ptr(503),
		RateLimitPerMinute: alignsim.Ptr(120)}); err != nil {
		t.Fatal(err)
	}
	w.runSink(Config{AlignRatePerMinute: 120})
	for _, cw := range companies {
		w.writeCompanyWorkload(cw, 100)
	}
	for _, cw := range companies {
		st := w.waitFor(cw.org, "company "+cw.id+" synced", func(s alignsim.State) bool { return synced(s, cw) })
		checkConverged(t, st, cw)
		w.waitOutbox(cw.id, "every operation done", func(c map[string]int) bool { return len(c) == 1 && c["done"] > 0 })
	}
}
