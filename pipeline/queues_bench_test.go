package pipeline

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/alignsim"
)

// The benchmarks of issue 12 ("Durable per-company queues"). Run one at a
// time, on a quiet machine:
//
//	go test -run '^$' -bench 'BenchmarkSlowNeighbourLatency' -benchtime 1x -timeout 30m ./pipeline
//
// BENCHMARKS.md records the figures with the machine and the date.

// setLatency makes every Align call take ms milliseconds.
func (h *harness) setLatency(b *testing.B, ms int) {
	if _, err := h.env.Align.Control.SetFaults(context.Background(), alignsim.Faults{LatencyMs: &ms}); err != nil {
		b.Fatal(err)
	}
}

// percentiles reads the commit → Align 2xx latency of the time-entry
// creations recorded since since, optionally of one company.
func percentiles(b *testing.B, h *harness, since time.Time, company string) (p50, p99, max time.Duration, n int) {
	rows, err := h.env.Pool.Query(context.Background(), `SELECT extract(epoch FROM done_at - source_ts) FROM align_sync.outbox
		WHERE op = 'time_entry.create' AND status = 'done' AND created_at > $1 AND ($2 = '' OR company_id::text = $2)`,
		since, company)
	if err != nil {
		b.Fatal(err)
	}
	var lat []float64
	for rows.Next() {
		var s float64
		_ = rows.Scan(&s)
		lat = append(lat, s)
	}
	rows.Close()
	if len(lat) == 0 {
		b.Fatal("no latency recorded")
	}
	sort.Float64s(lat)
	at := func(q float64) time.Duration {
		return time.Duration(lat[int(q*float64(len(lat)-1))] * float64(time.Second)).Round(time.Millisecond)
	}
	return at(0.5), at(0.99), at(1), len(lat)
}

func dbNow(b *testing.B, h *harness) time.Time {
	var now time.Time
	if err := h.env.Pool.QueryRow(context.Background(), `SELECT now()`).Scan(&now); err != nil {
		b.Fatal(err)
	}
	return now
}

// BenchmarkSlowNeighbourLatency: A imports 3,000 entries at once and drains
// at Align's 600 requests a minute (100 ms a call); B, on A's partition,
// writes one entry a second meanwhile. Reported: B's commit → Align 2xx.
func BenchmarkSlowNeighbourLatency(b *testing.B) {
	w := newWorld(b)
	w.setLatency(b, 100)
	w.runSink(Config{})
	a, bf, _, _ := w.neighbours()
	since := dbNow(b, w.harness)
	b.ResetTimer()
	w.burst(a, 3000)
	w.waitOutboxB(b, a.company, func(c map[string]int) bool { return c["done"] > 30 })
	const writes = 60
	tick := time.NewTicker(time.Second)
	for i := 0; i < writes; i++ {
		<-tick.C
		w.trickle(bf, 1)
	}
	tick.Stop()
	w.waitOutboxB(b, bf.company, func(c map[string]int) bool { return c["done"] >= writes+4 && len(c) == 1 })
	b.StopTimer()
	p50, p99, mx, n := percentiles(b, w.harness, since, bf.company)
	aDone := w.doneEntries(a.company)
	b.ReportMetric(float64(p50.Milliseconds()), "B-p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "B-p99-ms")
	b.Logf("B: %d entries, commit → Align p50 %s, p99 %s, max %s; A had %d of 3000 done when B's last was", n, p50, p99, mx, aDone)
}

// waitCreated waits until want time entries recorded since since are done.
func (h *harness) waitCreated(b *testing.B, since time.Time, want int) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var done int
		_ = h.env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.outbox
			WHERE op = 'time_entry.create' AND status = 'done' AND created_at > $1`, since).Scan(&done)
		if done >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d entries done", done, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitOutboxB polls a company's outbox counts until ok (10 minutes at most).
func (h *harness) waitOutboxB(b *testing.B, company string, ok func(map[string]int) bool) {
	deadline := time.Now().Add(10 * time.Minute)
	for !ok(h.outboxCounts(company)) {
		if time.Now().After(deadline) {
			b.Fatalf("outbox of %s: %v", company, h.outboxCounts(company))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// drainOps produces perCompany entry insertions for each company, all at
// once, and returns the ops/s from the first message to the last done. The
// end is read from the ledger (done_at, the database's clock, like the
// start), so polling for it costs the measurement nothing.
func (h *harness) drainOps(b *testing.B, companies []benchCompany, perCompany int) float64 {
	var msgs []kafka.Message
	for i := 0; i < perCompany; i++ {
		for _, c := range companies {
			msgs = append(msgs, h.entryMessage(c, 15+i%200))
		}
	}
	var after int64
	_ = h.env.Pool.QueryRow(context.Background(), `SELECT coalesce(max(id), 0) FROM align_sync.outbox`).Scan(&after)
	start := dbNow(b, h)
	for i := 0; i < len(msgs); i += 500 {
		if err := h.writer.WriteMessages(context.Background(), msgs[i:min(i+500, len(msgs))]...); err != nil {
			b.Fatal(err)
		}
	}
	end := h.drained(b, after, len(msgs))
	return float64(len(msgs)) / end.Sub(start).Seconds()
}

// drained waits until want operations recorded after the outbox id after
// are done, and returns when the last of them was.
func (h *harness) drained(b *testing.B, after int64, want int) time.Time {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var done int
		var last *time.Time
		_ = h.env.Pool.QueryRow(context.Background(), `SELECT count(*), max(done_at) FROM align_sync.outbox
			WHERE id > $1 AND status = 'done'`, after).Scan(&done, &last)
		if done >= want && last != nil {
			return *last
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d operations done", done, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// BenchmarkThroughputUnderLatency: 500 companies, 20 entries each, with
// Align answering at once and then in 100 ms. Reported: ops/s of each and
// their ratio.
func BenchmarkThroughputUnderLatency(b *testing.B) {
	h := newHarness(b)
	companies := h.benchCompanies(b, 500)
	h.startSink(Config{Slots: 256, AlignRatePerMinute: 600, StatsInterval: 5 * time.Second})
	h.waitAllDone(b, 4*len(companies)) // project, staffing page, invite and membership of each
	b.ResetTimer()
	fast := h.drainOps(b, companies, 20)
	h.setLatency(b, 100)
	slow := h.drainOps(b, companies, 20)
	b.StopTimer()
	b.ReportMetric(fast, "ops/s-latency-0")
	b.ReportMetric(slow, "ops/s-latency-100ms")
	b.ReportMetric(slow/fast, "ratio")
	b.Logf("500 companies × 20 entries, 256 slots: %.0f ops/s with Align at 0 ms, %.0f ops/s at 100 ms (%.2f×)", fast, slow, slow/fast)
}

// BenchmarkTwoInstances: Align at 100 ms, 200 companies × 20 entries, each
// instance with 16 slots: latency, not CPU, is the limit. Reported: ops/s
// of one instance, then of two.
func BenchmarkTwoInstances(b *testing.B) {
	h := newHarness(b)
	companies := h.benchCompanies(b, 200)
	h.setLatency(b, 100)
	cfg := Config{Slots: 16, StatsInterval: 5 * time.Second}
	cfg.Instance = "bench-one"
	h.startSink(cfg)
	h.waitAllDone(b, 4*len(companies))
	b.ResetTimer()
	one := h.drainOps(b, companies, 20)
	cfg.Instance, cfg.Group = "bench-two", "alignsync-sink"
	h.startSink(cfg)
	two := h.drainOps(b, companies, 20)
	b.StopTimer()
	b.ReportMetric(one, "ops/s-one")
	b.ReportMetric(two, "ops/s-two")
	b.ReportMetric(two/one, "ratio")
	b.Logf("200 companies × 20 entries, Align at 100 ms, 16 slots per instance: one instance %.0f ops/s, two %.0f ops/s (%.2f×)", one, two, two/one)
}

// BenchmarkEndToEndAtRate: real capture and sink; SQL inserts of time
// entries at a steady rate over many companies; latency from the source
// commit to Align's 2xx. Sub-benchmarks: 200/s and 1,000/s with Align at
// once (the earlier design's figures), and 250/s, 500/s and 1,000/s over 500
// companies with Align at 100 ms.
func BenchmarkEndToEndAtRate(b *testing.B) {
	for _, c := range []struct {
		rate, companies, latency int
	}{{200, 100, 0}, {1000, 100, 0}, {250, 500, 100}, {500, 500, 100}, {1000, 500, 100}} {
		b.Run(fmt.Sprintf("rate=%d/companies=%d/latency=%dms", c.rate, c.companies, c.latency), func(b *testing.B) {
			endToEnd(b, c.rate, c.companies, c.latency)
		})
	}
}

// engagedCompanies connects n companies, each with a project and an accepted
// engagement.
func (w *world) engagedCompanies(n int) []fixture {
	companies := make([]fixture, 0, n)
	for i := 0; i < n; i++ {
		id, _ := w.connectCompany(fmt.Sprintf("Load %03d", i))
		companies = append(companies, w.seedEngaged(id))
		w.exec(`UPDATE engagements SET status = 'accepted' WHERE id = $1`, companies[i].engagement)
	}
	return companies
}

// runLoadedSink runs the sink the rate benchmarks use and waits until the
// companies' setup is synced.
func (w *world) runLoadedSink(b *testing.B, companies int) {
	w.runSink(Config{Slots: 256, AlignRatePerMinute: 1 << 30, StatsInterval: 5 * time.Second, SweepInterval: 30 * time.Second})
	w.waitAllDone(b, 3*companies) // project, invite and membership of each
}

// insertAtRate inserts rate time entries a second for seconds, round robin
// over companies, and returns the rate it really offered. The i-th insert
// starts at start + i/rate, in its own goroutine, so that neither a slow
// commit nor a late wake-up of this loop lowers the rate (a time.Ticker
// drops the ticks its receiver misses).
func (w *world) insertAtRate(b *testing.B, companies []fixture, rate, seconds int) float64 {
	var failed atomic.Int64
	start := time.Now()
	for i := 0; i < rate*seconds; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		c := companies[i%len(companies)]
		go func() {
			if _, err := w.env.Pool.Exec(context.Background(), `INSERT INTO time_entries
				(company_id, engagement_id, project_id, talent_id, work_date, minutes)
				VALUES ($1, $2, $3, $4, '2026-11-20', $5)`, c.company, c.engagement, c.project, c.talent, 15+i%200); err != nil {
				failed.Add(1)
			}
		}()
	}
	offered := float64(rate*seconds) / time.Since(start).Seconds()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d inserts failed", n)
	}
	return offered
}

func endToEnd(b *testing.B, rate, n, latency int) {
	w := newWorld(b)
	companies := w.engagedCompanies(n)
	w.runLoadedSink(b, n)
	w.setLatency(b, latency)
	since := dbNow(b, w.harness)
	const seconds = 30
	b.ResetTimer()
	offered := w.insertAtRate(b, companies, rate, seconds)
	generated := time.Now()
	w.waitCreated(b, since, rate*seconds)
	b.StopTimer()
	b.Logf("the last entry was done %s after the last insert began", time.Since(generated).Round(10*time.Millisecond))
	p50, p99, mx, count := percentiles(b, w.harness, since, "")
	b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
	b.Logf("%d changes at %d/s (offered: %.0f/s) over %d companies, Align at %d ms: commit → Align 2xx p50 %s, p99 %s, max %s",
		count, rate, offered, n, latency, p50, p99, mx)
	var rec50, rec99, run50, run99 float64
	_ = w.env.Pool.QueryRow(context.Background(), `SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - source_ts)),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - source_ts)),
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - created_at)),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - created_at))
		FROM align_sync.outbox WHERE op = 'time_entry.create' AND created_at > $1`, since).Scan(&rec50, &rec99, &run50, &run99)
	b.Logf("commit → recorded by intake: p50 %.0f ms, p99 %.0f ms; recorded → Align 2xx: p50 %.0f ms, p99 %.0f ms",
		rec50*1000, rec99*1000, run50*1000, run99*1000)
}
