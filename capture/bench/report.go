package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// printReport writes the results as the Markdown BENCHMARKS.md records.
func printReport(w io.Writer, o options, results []result, when time.Time) {
	fmt.Fprintf(w, "Date: %s  \n", when.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s  \n", machine())
	fmt.Fprintf(w, "Command: `go run ./capture/bench -rows %d -small-txn-rows %d -rounds %d -workloads %s`\n\n", o.rows, o.smallTxnRows, o.rounds, o.workloads)
	fmt.Fprintln(w, "| workload | row changes | WAL | pg_recvlogical rows/s | capture rows/s (in Kafka, acked) | ratio | capture rows/s to slot confirmation | capture peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %d | %.0f MiB | %.0f | %.0f | %.2f | %.0f | %.1f MiB |\n",
			describe(r.workload, o), r.rows, float64(r.walBytes)/(1<<20), r.recvRate(), r.captureRate(), r.ratio(), r.confirmRate(), float64(r.peakRSSKiB())/1024)
	}
	fmt.Fprintln(w, "\nEvery round (seconds; CPU = user+system of the reader process):")
	fmt.Fprintln(w, "\n| workload | round | pg_recvlogical s | pg_recvlogical CPU s | capture s (in Kafka) | capture s (confirmed) | capture CPU s | capture peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		for i := range r.recv {
			c := r.capture[i]
			fmt.Fprintf(w, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f MiB |\n", r.workload, i+1, r.recv[i].seconds, r.recv[i].cpuSeconds,
				c.kafkaSeconds, c.seconds, c.cpuSeconds, float64(c.peakRSSKiB)/1024)
		}
	}
}

func describe(workload string, o options) string {
	if workload == "small" {
		return fmt.Sprintf("%d transactions of %d rows", o.rows/o.smallTxnRows, o.smallTxnRows)
	}
	return "one transaction"
}

// machine is `nproc`, `free -h`'s total and the CPU model.
func machine() string {
	mem := "?"
	if out, err := exec.Command("free", "-h").Output(); err == nil {
		lines := strings.Split(string(out), "\n")
		if len(lines) > 1 {
			if f := strings.Fields(lines[1]); len(f) > 1 {
				mem = f[1]
			}
		}
	}
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("nproc %d, memory %s (free -h), CPU %s, %s", runtime.NumCPU(), mem, model, runtime.Version())
}
