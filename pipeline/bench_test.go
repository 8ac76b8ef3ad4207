package pipeline

import (
	"context"
	"fmt"
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

// BenchmarkSinkThroughput: 100 companies × 100 entries produced at once,
// Align (the simulator) answering at once and without limits: the sink's own
// cost per operation, CPU and database.
func BenchmarkSinkThroughput(b *testing.B) {
	h := newHarness(b)
	companies := h.benchCompanies(b, 100)
	h.startSink(Config{Slots: 32, AlignRatePerMinute: 1 << 30, StatsInterval: 5 * time.Second})
	h.waitAllDone(b, 400)
	b.ResetTimer()
	ops := h.drainOps(b, companies, 100)
	b.StopTimer()
	b.ReportMetric(ops, "ops/s")
	b.Logf("%d operations over %d companies: %.0f ops/s", 100*len(companies), len(companies), ops)
}

// waitAllDone waits until the outbox holds want done operations (a setup
// step: it counts the whole outbox).
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
		time.Sleep(100 * time.Millisecond)
	}
}
