package pipeline

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkMachineCPUAtRate: the share of this machine's CPU the pipeline
// takes at a steady 1,000 time-entry inserts a second over 500 companies,
// without the sink (the load generator, PostgreSQL's inserts and logical
// decoding, capture, the broker) and with it (Align at 100 ms). What is left
// between the two is the sink's budget on these cores. Reported: busy %.
func BenchmarkMachineCPUAtRate(b *testing.B) {
	for _, sink := range []bool{false, true} {
		b.Run(fmt.Sprintf("sink=%v", sink), func(b *testing.B) { machineCPU(b, 1000, 500, sink) })
	}
}

func machineCPU(b *testing.B, rate, n int, sink bool) {
	w := newWorld(b)
	companies := w.engagedCompanies(n)
	if sink {
		w.runLoadedSink(b, n)
		w.setLatency(b, 100)
	}
	time.Sleep(3 * time.Second) // let the setup's work settle
	b.ResetTimer()
	busy0, total0 := machineTicks(b)
	start := time.Now()
	offered := w.insertAtRate(b, companies, rate, 30)
	busy1, total1 := machineTicks(b)
	b.StopTimer()
	busy := 100 * float64(busy1-busy0) / float64(total1-total0)
	b.ReportMetric(busy, "busy-%")
	b.Logf("%d inserts/s (offered: %.0f/s) over %d companies for %s, sink running: %v: the machine's CPUs were busy %.0f %% of the time",
		rate, offered, n, time.Since(start).Round(time.Second), sink, busy)
}

// machineTicks reads the machine's CPU time from /proc/stat: busy (all but
// idle and iowait) and total, in clock ticks.
func machineTicks(b *testing.B) (busy, total int64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(strings.SplitN(string(raw), "\n", 2)[0])
	if len(fields) < 5 || fields[0] != "cpu" {
		b.Fatalf("unexpected /proc/stat: %q", fields)
	}
	for i, v := range fields[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("/proc/stat field %q: %v", v, err)
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
