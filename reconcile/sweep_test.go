package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/illumera/alignsync/alignsim"
)

func (h *harness) sweeper(cfg SweepConfig) *Sweeper {
	h.t.Helper()
	cfg.Pool, cfg.Keys, cfg.AlignBaseURL, cfg.Metrics = h.env.Pool, h.conns, h.env.Align.BaseURL, h.metrics
	cfg.RatePerMinute = 6000
	s, err := NewSweeper(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// age makes Illumera's last change of the entries d old.
func (h *harness) age(d time.Duration, ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		h.exec(`UPDATE time_entries SET updated_at = now() - $2::interval WHERE id = $1`, id, d)
	}
}

type repairedDelivery struct {
	event, status, note string
	repaired            bool
}

func (h *harness) deliveriesOf(company string) []repairedDelivery {
	h.t.Helper()
	rows, err := h.env.Pool.Query(h.ctx(), `SELECT event_name, status, coalesce(note, ''), repaired
		FROM align_sync.webhook_deliveries WHERE company_id = $1 AND repaired ORDER BY id`, company)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []repairedDelivery
	for rows.Next() {
		var d repairedDelivery
		if err := rows.Scan(&d.event, &d.status, &d.note, &d.repaired); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// Align's webhooks are all dropped; without the sweep the entries stay
// submitted (checked before it runs). One round writes back what Align holds,
// rejection reason included, and records each as a repaired delivery; a
// second round changes nothing.
func TestSweepHealsStatusesWhoseWebhooksWereDropped(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Sweep Co")
	p := h.linkedProject(company, org, 9000)
	approved, approvedAlign := h.entry(p, "2026-11-20", 60, 9000, "submitted")
	rejected, rejectedAlign := h.entry(p, "2026-11-20", 30, 9000, "submitted")
	locked, lockedAlign := h.entry(p, "2026-11-21", 45, 9000, "submitted")
	waiting, _ := h.entry(p, "2026-11-21", 15, 9000, "submitted")
	fresh, freshAlign := h.entry(p, "2026-11-22", 20, 9000, "submitted")

	ctx, ctl := h.ctx(), h.env.Align.Control
	if _, err := ctl.SetFaults(ctx, alignsim.Faults{DropWebhooks: alignsim.Ptr(1.0)}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		do func(context.Context, string) (alignsim.TimeEntry, error)
		id string
	}{{ctl.Approve, approvedAlign}, {ctl.Approve, lockedAlign}, {ctl.Lock, lockedAlign}, {ctl.Approve, freshAlign}} {
		if _, err := step.do(ctx, step.id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ctl.Reject(ctx, rejectedAlign, "Wrong project code"); err != nil {
		t.Fatal(err)
	}
	// Submitted three minutes ago, except fresh: the sweep leaves a change
	// younger than two minutes to its webhook.
	h.age(3*time.Minute, approved, rejected, locked, waiting)
	for _, id := range []string{approved, rejected, locked, waiting, fresh} {
		if s, _ := h.entryStatus(id); s != "submitted" {
			t.Fatalf("entry %s is %s before the sweep: a webhook got through", id, s)
		}
	}

	res, err := h.sweeper(SweepConfig{}).Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Companies != 1 || res.Checked != 4 || res.Repaired != 3 || res.Errors != 0 {
		t.Fatalf("sweep result %+v, want 4 entries read and 3 repaired", res)
	}
	for id, want := range map[string]string{approved: "approved", rejected: "rejected", locked: "locked", waiting: "submitted", fresh: "submitted"} {
		if s, _ := h.entryStatus(id); s != want {
			t.Errorf("entry %s is %s after the sweep, want %s", id, s, want)
		}
	}
	if _, reason := h.entryStatus(rejected); reason != "Wrong project code" {
		t.Errorf("rejection reason %q, want Align's", reason)
	}
	got := h.deliveriesOf(company)
	want := map[string]bool{"time.approved": true, "time.rejected": true, "time.locked": true}
	for _, d := range got {
		if !want[d.event] || d.status != "processed" || !d.repaired || d.note == "" {
			t.Errorf("repaired delivery %+v", d)
		}
		delete(want, d.event)
	}
	if len(got) != 3 || len(want) != 0 {
		t.Fatalf("repaired deliveries %+v, want one per repaired status", got)
	}
	if n := testutil.ToFloat64(h.metrics.sweepChecks.WithLabelValues(sweepRepaired)); n != 3 {
		t.Errorf("repaired checks counted %v, want 3", n)
	}

	// The fresh entry comes due once its change is two minutes old.
	h.age(3*time.Minute, fresh)
	res, err = h.sweeper(SweepConfig{}).Sweep(ctx)
	if err != nil || res.Repaired != 1 {
		t.Fatalf("second round: %+v, %v; want the fresh entry repaired", res, err)
	}
	if s, _ := h.entryStatus(fresh); s != "approved" {
		t.Fatalf("fresh entry is %s, want approved", s)
	}
	if n := len(h.deliveriesOf(company)); n != 4 {
		t.Fatalf("%d repaired deliveries after the second round, want 4", n)
	}
}

// What the sweep must not touch: an entry the pipeline is still sending, and
// a rejection Align holds for an entry Illumera has resubmitted since.
func TestSweepLeavesEntriesIllumeraIsAheadOn(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Busy Co")
	p := h.linkedProject(company, org, 9000)
	inFlight, inFlightAlign := h.entry(p, "2026-11-20", 60, 9000, "submitted")
	resubmitted, resubmittedAlign := h.entry(p, "2026-11-20", 60, 9000, "submitted")
	ctx, ctl := h.ctx(), h.env.Align.Control
	if _, err := ctl.SetFaults(ctx, alignsim.Faults{DropWebhooks: alignsim.Ptr(1.0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Approve(ctx, inFlightAlign); err != nil {
		t.Fatal(err)
	}
	rejection, err := ctl.Reject(ctx, resubmittedAlign, "Too many hours")
	if err != nil {
		t.Fatal(err)
	}
	h.exec(`INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key, status)
		VALUES ($1, 'time_entry', $2, 'time_entry.update', $3, 'pending')`, company, inFlight, uuid.NewString())
	h.age(3*time.Minute, inFlight)
	// The talent resubmitted after Align's rejection: Illumera changed last.
	h.exec(`UPDATE time_entries SET updated_at = $2 WHERE id = $1`, resubmitted, rejection.UpdatedAt.Add(time.Millisecond))
	h.waitUntil("the resubmission to be older than the minimum age", func() bool {
		var old bool
		err := h.env.Pool.QueryRow(ctx, `SELECT updated_at < now() - interval '10 milliseconds' FROM time_entries WHERE id = $1`,
			resubmitted).Scan(&old)
		return err == nil && old
	})

	res, err := h.sweeper(SweepConfig{MinAge: 10 * time.Millisecond}).Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Repaired != 0 || res.Checked != 1 {
		t.Fatalf("sweep result %+v, want only the resubmitted entry read and nothing repaired", res)
	}
	for _, id := range []string{inFlight, resubmitted} {
		if s, _ := h.entryStatus(id); s != "submitted" {
			t.Errorf("entry %s became %s", id, s)
		}
	}
}
