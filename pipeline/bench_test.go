package pipeline

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/change"
)

// Run with: go test -run '^$' -bench . -benchtime 1x ./pipeline
// (BENCHMARKS.md records the numbers and the machine).

// benchCompany is a connected company whose project, user and membership are
// already synced, so each time entry it logs is exactly one Align operation.
type benchCompany struct {
	fixture
}

func (h *harness) benchCompanies(b *testing.B, n int) []benchCompany {
	var out []benchCompany
	for i := 0; i < n; i++ {
		id, _ := h.connect(fmt.Sprintf("Bench %03d", i))
		f := h.seed(id)
		out = append(out, benchCompany{f})
		h.emit("projects", "c", nil, f.projectRow("active"))
		h.emit("engagements", "c", nil, f.engagementRow("accepted"))
	}
	return out
}

// entryEnvelope is a time-entry insert for company c.
func (h *harness) entryMessage(c benchCompany, minutes int) kafka.Message {
	row := c.entryRow("draft", minutes)
	row["id"] = uuid.NewString()
	return kafka.Message{Key: []byte(c.company), Value: h.envelope("time_entries", change.OpCreate, nil, row)}
}

// BenchmarkSinkThroughput: 100 companies, Align (the simulator) without
// limits; time from the first message to the last operation done.
func BenchmarkSinkThroughput(b *testing.B) {
	h := newHarness(b)
	companies := h.benchCompanies(b, 100)
	h.startSink(Config{Slots: 32, AlignRatePerMinute: 1 << 30})
	h.waitAllDone(b, 400)
	const perCompany = 100
	var msgs []kafka.Message
	for i := 0; i < perCompany; i++ {
		for _, c := range companies {
			msgs = append(msgs, h.entryMessage(c, 15+i%200))
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(msgs); i += 500 {
		if err := h.writer.WriteMessages(context.Background(), msgs[i:min(i+500, len(msgs))]...); err != nil {
			b.Fatal(err)
		}
	}
	h.waitAllDone(b, 400+len(msgs))
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(len(msgs))/elapsed.Seconds(), "ops/s")
	b.Logf("%d operations over %d companies in %s: %.0f ops/s", len(msgs), len(companies), elapsed.Round(time.Millisecond), float64(len(msgs))/elapsed.Seconds())
}

// waitAllDone waits until the outbox holds want done operations.
func (h *harness) waitAllDone(b *testing.B, want int) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var done, other int
		_ = h.env.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status <> 'done') FROM align_sync.outbox`).Scan(&done, &other)
		if done >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d operations done (%d not done)", done, want, other)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkEndToEndLatency: real capture and sink; SQL inserts of time
// entries at a steady 200 changes/s over 100 companies for 30 s; latency from
// the source commit to Align's 2xx, read from the outbox (source_ts, done_at).
func BenchmarkEndToEndLatency(b *testing.B) {
	w := newWorld(b)
	var companies []fixture
	for i := 0; i < 100; i++ {
		id, _ := w.connectCompany(fmt.Sprintf("Latency %03d", i))
		companies = append(companies, w.seedEngaged(id))
		w.exec(`UPDATE engagements SET status = 'accepted' WHERE id = $1`, companies[i].engagement)
	}
	w.runSink(Config{Slots: 32, AlignRatePerMinute: 1 << 30})
	w.harness.waitAllDone(b, 200)
	var since time.Time
	_ = w.env.Pool.QueryRow(context.Background(), `SELECT now()`).Scan(&since)
	const rate, seconds = 200, 30
	b.ResetTimer()
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	for i := 0; i < rate*seconds; i++ {
		<-tick.C
		c := companies[i%len(companies)]
		w.exec(`INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes)
			VALUES ($1, $2, $3, $4, '2026-11-20', $5)`, c.company, c.engagement, c.project, c.talent, 15+i%200)
	}
	w.harness.waitAllDone(b, 200+rate*seconds)
	b.StopTimer()
	rows, err := w.env.Pool.Query(context.Background(), `SELECT extract(epoch FROM done_at - source_ts) FROM align_sync.outbox
		WHERE op = 'time_entry.create' AND created_at > $1`, since)
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
	sort.Float64s(lat)
	p := func(q float64) time.Duration {
		return time.Duration(lat[int(q*float64(len(lat)-1))] * float64(time.Second)).Round(time.Millisecond)
	}
	b.ReportMetric(float64(p(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p(0.99).Milliseconds()), "p99-ms")
	b.Logf("%d changes at %d/s: end-to-end p50 %s, p99 %s, max %s", len(lat), rate, p(0.5), p(0.99), p(1))
	var arrive50, arrive99, exec50, exec99 float64
	_ = w.env.Pool.QueryRow(context.Background(), `SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - source_ts)),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - source_ts)),
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - created_at)),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - created_at))
		FROM align_sync.outbox WHERE op = 'time_entry.create' AND created_at > $1`, since).Scan(&arrive50, &arrive99, &exec50, &exec99)
	b.Logf("commit → recorded by the sink: p50 %.0fms p99 %.0fms; recorded → Align 2xx: p50 %.0fms p99 %.0fms",
		arrive50*1000, arrive99*1000, exec50*1000, exec99*1000)
}
