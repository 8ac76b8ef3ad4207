package reconcile

import (
	"testing"
	"time"
)

// discrepancyRow is one row of align_sync.reconciliation_discrepancies.
type discrepancyRow struct {
	field                    string
	illumera, align          int64
	runID, lastRunID         string
	detectedAt, lastDetected time.Time
	resolvedAt               *time.Time
	resolvedRunID            string
}

func (h *harness) discrepancyRows(company string) []discrepancyRow {
	h.t.Helper()
	rows, err := h.env.Pool.Query(h.ctx(), `SELECT field, illumera_value, align_value, run_id::text,
		coalesce(last_run_id::text, ''), detected_at, last_detected_at, resolved_at, coalesce(resolved_run_id::text, '')
		FROM align_sync.reconciliation_discrepancies WHERE company_id = $1 ORDER BY id`, company)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []discrepancyRow
	for rows.Next() {
		var d discrepancyRow
		if err := rows.Scan(&d.field, &d.illumera, &d.align, &d.runID, &d.lastRunID, &d.detectedAt, &d.lastDetected,
			&d.resolvedAt, &d.resolvedRunID); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// A difference stays one open row per company, project and field: later runs
// update it, a clean run resolves it, and a new difference opens a new row
// while the resolved one stays as history.
func TestDiscrepancyIsOneOpenRowUpdatedThenResolved(t *testing.T) {
	h := newHarness(t)
	company, org := h.connect("Drift Co")
	p := h.linkedProject(company, org, 9000)
	entry, _ := h.entry(p, "2026-11-20", 60, 9000, "approved")
	all := Options{Window: Window{All: true}}
	clock := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return clock }

	h.exec(`UPDATE time_entries SET minutes = 90 WHERE id = $1`, entry)
	first := h.run(all)
	rows := h.discrepancyRows(company)
	if len(rows) != 2 || rows[0].field != FieldApprovedMinutes || rows[0].illumera != 90 || rows[0].align != 60 ||
		rows[0].resolvedAt != nil || rows[0].runID != first.RunID || !rows[0].detectedAt.Equal(clock) {
		t.Fatalf("after the first run: %+v", rows)
	}

	clock = clock.Add(24 * time.Hour)
	h.exec(`UPDATE time_entries SET minutes = 120 WHERE id = $1`, entry)
	second := h.run(all)
	rows = h.discrepancyRows(company)
	if len(rows) != 2 {
		t.Fatalf("a later run added rows instead of updating the open ones: %+v", rows)
	}
	if m := rows[0]; m.illumera != 120 || m.lastRunID != second.RunID || m.runID != first.RunID ||
		!m.detectedAt.Equal(clock.Add(-24*time.Hour)) || !m.lastDetected.Equal(clock) || m.resolvedAt != nil {
		t.Fatalf("open minutes discrepancy after the second run: %+v", m)
	}
	if second.Totals.Discrepancies != 2 || second.Totals.Resolved != 0 {
		t.Fatalf("second run totals %+v", second.Totals)
	}

	clock = clock.Add(24 * time.Hour)
	h.exec(`UPDATE time_entries SET minutes = 60 WHERE id = $1`, entry)
	clean := h.run(all)
	rows = h.discrepancyRows(company)
	if len(rows) != 2 || clean.Totals.Resolved != 2 || clean.Totals.Discrepancies != 0 {
		t.Fatalf("clean run: totals %+v, rows %+v", clean.Totals, rows)
	}
	for _, r := range rows {
		if r.resolvedAt == nil || !r.resolvedAt.Equal(clock) || r.resolvedRunID != clean.RunID {
			t.Fatalf("not resolved by the clean run: %+v", r)
		}
	}

	clock = clock.Add(24 * time.Hour)
	h.exec(`UPDATE time_entries SET minutes = 61 WHERE id = $1`, entry)
	again := h.run(all)
	rows = h.discrepancyRows(company)
	if len(rows) != 4 || rows[0].resolvedAt == nil || rows[1].resolvedAt == nil {
		t.Fatalf("a new difference after resolution: %+v", rows)
	}
	for _, r := range rows[2:] {
		if r.resolvedAt != nil || r.runID != again.RunID || (r.field == FieldApprovedMinutes && r.illumera != 61) {
			t.Fatalf("new open row %+v", r)
		}
	}
}
