package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/illumera/alignsync/demo"
)

func init() {
	register(command{name: "demo", summary: "run the whole pipeline in one process on embedded defaults", run: runDemo})
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o demo.Options
	var verbose bool
	var seed int
	f := newFlagSet("demo", "Starts a temporary PostgreSQL (or uses DATABASE_URL), an embedded Kafka broker, the Align\n"+
		"simulator, capture, sink, serve and reconcile in one process; connects companies through the\n"+
		"real connect flow; drives a workload while simulated Align managers approve, reject, lock\n"+
		"and invoice; prints a progress line a second; and ends (after --duration, or on Ctrl-C)\n"+
		"with a convergence report. Midway (at 30 s with --duration 0; none under 20s) the simulator\n"+
		"revokes the first company's key: its status turns Error and its operations park, then the\n"+
		"demo reconnects it with a fresh key and clicks Retry Failed, and the report says whether it\n"+
		"converged afterwards. Exits 1 when Illumera and Align did not converge.")
	f.Duration(&o.Duration, "duration", "ALIGNSYNC_DEMO_DURATION", 60*time.Second, "how long the workload runs (0: until Ctrl-C)")
	f.String(&o.DatabaseURL, "database-url", "DATABASE_URL", "", "use this database instead of a temporary server (the reference schema is applied)")
	f.String(&o.OpsAddr, "ops-addr", "ALIGNSYNC_DEMO_OPS_ADDR", "127.0.0.1:8080", "serve's address: admin API, webhooks, and /metrics of every component")
	f.Int(&o.Companies, "companies", "ALIGNSYNC_DEMO_COMPANIES", 3, "companies, each connected to its own simulated Align org")
	f.Int(&seed, "seed", "ALIGNSYNC_DEMO_SEED", 0, "workload seed (0: from the clock)")
	f.Bool(&o.Prometheus, "prometheus", "ALIGNSYNC_DEMO_PROMETHEUS", false, "also start a local Prometheus scraping the demo (needs the prometheus binary)")
	f.String(&o.PrometheusAddr, "prometheus-addr", "ALIGNSYNC_DEMO_PROMETHEUS_ADDR", "127.0.0.1:9090", "listen address of that Prometheus")
	f.Bool(&verbose, "verbose", "ALIGNSYNC_DEMO_VERBOSE", false, "also print the components' JSON logs to stderr")
	if code := parseFlags(f, args, stdout, stderr, func() {
		if o.Duration < 0 {
			f.Problem("--duration %s: must not be negative", o.Duration)
		}
		if o.Companies < 1 || o.Companies > 100 {
			f.Problem("--companies %d: must be between 1 and 100", o.Companies)
		}
	}); code >= 0 {
		return code
	}
	o.Out, o.Seed = stdout, uint64(seed)
	if verbose {
		o.Logger = f.Logger(stderr)
	}
	if err := demo.Run(ctx, o); err != nil {
		fmt.Fprintf(stderr, "alignsync demo: %v\n", err)
		return 1
	}
	return 0
}
