// Command bench measures capture against pg_recvlogical on the same backlog.
//
//	go run ./capture/bench [-rows 1000000] [-small-txn-rows 10] [-workloads large,small]
//
// For each workload it creates two pgoutput slots, fills the WAL (one
// transaction of -rows inserts, or -rows/-small-txn-rows transactions), then
// times pg_recvlogical (proto_version 1, publication_names) reading the
// backlog to a file up to the end LSN, and `alignsync capture` (the real
// binary, as a subprocess) producing it to an embedded Kafka broker with
// acks=all until Kafka holds every message and the slot confirms the end LSN.
// Each reader drains each backlog -rounds times, alternating, from its own
// slot; it prints the median rows/s of both, the ratio and capture's peak
// RSS, with the machine description, as Markdown.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

func main() {
	var o options
	flag.IntVar(&o.rows, "rows", 1_000_000, "row changes per workload")
	flag.IntVar(&o.smallTxnRows, "small-txn-rows", 10, "rows per transaction of the small workload")
	flag.IntVar(&o.rounds, "rounds", 3, "times each reader drains each backlog, alternating; medians are reported")
	flag.StringVar(&o.workloads, "workloads", "large,small", "workloads to run: large (one transaction), small (many)")
	flag.StringVar(&o.captureArgs, "capture-args", "", "extra flags for alignsync capture, space-separated")
	flag.StringVar(&o.captureEnv, "capture-env", "", "extra environment for alignsync capture, space-separated K=V (e.g. GODEBUG=gctrace=1)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	rows, smallTxnRows int
	rounds             int
	workloads          string
	captureArgs        string
	captureEnv         string
}

func run(o options) error {
	ctx := context.Background()
	pg, err := testenv.StartPostgres(ctx)
	if err != nil {
		return err
	}
	defer pg.Stop()
	k, err := testenv.StartKafka(4, "")
	if err != nil {
		return err
	}
	defer k.Close()
	b, err := newBench(ctx, pg, k, o)
	if err != nil {
		return err
	}
	defer b.close()
	var results []result
	for _, w := range strings.Split(o.workloads, ",") {
		r, err := b.measure(ctx, strings.TrimSpace(w))
		if err != nil {
			return fmt.Errorf("workload %s: %w", w, err)
		}
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "%s: %s\n", w, r)
	}
	printReport(os.Stdout, o, results, time.Now())
	return nil
}
