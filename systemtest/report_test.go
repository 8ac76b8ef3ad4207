package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/illumera/alignsync/reconcile"
)

// run is one system test's story, for the report and the verdict.
type run struct {
	cfg            config
	started        time.Time
	work           *workload
	mgrs           *managers
	chaos          *chaos
	faultsStopped  time.Time
	convergedAfter time.Duration
	operatorSteps  []string
	final          map[string]*comparison
	reconcile      reconcileResult
	stops          map[string]string // component → how it stopped on SIGTERM, "" when cleanly
}

type reconcileResult struct {
	totals reconcile.Totals
	err    error
}

// reconcile runs `alignsync reconcile` over every work date, as the nightly
// job would, and reads its JSON report. Nothing else calls Align by then, so
// it may use a key's whole budget; a long run has many projects to read.
func (c *cluster) reconcile(ctx context.Context, workload time.Duration) reconcileResult {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute+workload/2)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, "reconcile", "--window", "all", "--json")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+c.env.DatabaseURL, "ALIGN_BASE_URL="+c.env.Align.BaseURL,
		"ALIGNSYNC_ENCRYPTION_KEYS="+c.keyring, "ALIGNSYNC_RECONCILE_RATE_PER_MINUTE=600")
	out, err := cmd.Output()
	if err != nil {
		return reconcileResult{err: fmt.Errorf("alignsync reconcile: %w: %s", err, out)}
	}
	var rep reconcile.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		return reconcileResult{err: fmt.Errorf("decoding the reconcile report: %w: %s", err, out)}
	}
	return reconcileResult{totals: rep.Totals}
}

// stopAll sends SIGTERM to every component: each must exit 0 in time.
func (c *cluster) stopAll() map[string]string {
	out := map[string]string{}
	for _, comp := range c.components() {
		code, err := comp.stop(45 * time.Second)
		switch {
		case err != nil:
			out[comp.name] = err.Error()
		case code != 0:
			out[comp.name] = fmt.Sprintf("exited with status %d", code)
		default:
			out[comp.name] = ""
		}
	}
	return out
}

func (r *run) print(w io.Writer, c *cluster, companies []company) {
	fmt.Fprintf(w, "\n=== alignsync system test: %s of workload under faults and SIGKILLs ===\n", r.cfg.duration)
	fmt.Fprintf(w, "machine: %s; seed %d\n", machine(), r.cfg.seed)
	fmt.Fprintf(w, "workload: %d row changes in Illumera, %d manager actions in Align, %d workload errors\n",
		r.work.changes.Load(), r.mgrs.actions.Load(), r.work.failed.Load())
	fmt.Fprintf(w, "faults: %s; webhooks dropped 5%%, duplicated 10%%, reordered, 5 ms latency throughout\n", r.chaos.phaseSummary())
	r.printKills(w, c)
	switch converged := allConverged(r.final); {
	case converged && len(r.operatorSteps) == 0:
		fmt.Fprintf(w, "settling: converged %s after the faults and kills stopped, with no operator step\n", r.convergedAfter.Round(time.Second))
	case len(r.operatorSteps) == 0:
		fmt.Fprintf(w, "settling: NOT converged %s after the faults stopped; nothing was failed for Retry Failed to act on\n",
			r.convergedAfter.Round(time.Second))
	default:
		fmt.Fprintf(w, "settling: NOT converged within %s on its own; operator step taken:\n", settleTimeout(r.cfg.duration))
		for _, s := range r.operatorSteps {
			fmt.Fprintf(w, "    %s\n", s)
		}
		fmt.Fprintf(w, "  then %s after the faults stopped: converged = %v\n", r.convergedAfter.Round(time.Second), converged)
	}
	r.printCompanies(w, companies)
	if r.reconcile.err != nil {
		fmt.Fprintf(w, "reconciliation: %v\n", r.reconcile.err)
	} else {
		t := r.reconcile.totals
		fmt.Fprintf(w, "reconciliation: %d companies, %d projects, %d entries compared, %d discrepancies, %d link problems, %d errors\n",
			t.Companies, t.Projects, t.EntriesCompared, t.Discrepancies, t.LinkProblems, t.Errors)
	}
	var stops []string
	for _, comp := range c.components() {
		how := r.stops[comp.name]
		if how == "" {
			how = "exit 0"
		}
		stops = append(stops, comp.name+" "+how)
	}
	fmt.Fprintf(w, "SIGTERM at the end: %s\n", strings.Join(stops, ", "))
}

func (r *run) printKills(w io.Writer, c *cluster) {
	var parts, exits []string
	total := 0
	for _, comp := range c.components() {
		starts, kills, ex := comp.counts()
		errs, _ := comp.logLines(0)
		total += kills
		parts = append(parts, fmt.Sprintf("%s %d (%d starts, %d error log lines)", comp.name, kills, starts, errs))
		exits = append(exits, ex...)
	}
	fmt.Fprintf(w, "SIGKILLs survived: %d — %s\n", total, strings.Join(parts, ", "))
	killLog := filepath.Join(r.cfg.logDir, "kills.log")
	if err := os.WriteFile(killLog, []byte(strings.Join(r.chaos.killLog, "\n")+"\n"), 0o644); err == nil {
		fmt.Fprintf(w, "each kill, when and for how long: %s\n", killLog)
	}
	if len(exits) == 0 {
		exits = []string{"none"}
	}
	fmt.Fprintf(w, "exits nobody asked for: %s\n", strings.Join(exits, "; "))
}

func (r *run) printCompanies(w io.Writer, companies []company) {
	fmt.Fprintf(w, "%-11s", "company")
	for _, k := range kinds {
		fmt.Fprintf(w, " %-16s", k)
	}
	fmt.Fprintf(w, " verdict    (matched/Illumera/Align)\n")
	statuses := map[string]int{}
	for _, co := range companies {
		cmp := r.final[co.ID]
		fmt.Fprintf(w, "%-11s", co.Name)
		for _, k := range kinds {
			t := cmp.tallies[k]
			fmt.Fprintf(w, " %-16s", fmt.Sprintf("%d/%d/%d", t.matched, t.want, t.have))
		}
		verdict := "converged"
		if !cmp.converged() {
			verdict = "DIVERGED"
		}
		fmt.Fprintf(w, " %s\n", verdict)
		for i, p := range cmp.problems {
			if i == 8 {
				fmt.Fprintf(w, "    … and %d more\n", len(cmp.problems)-8)
				break
			}
			fmt.Fprintf(w, "    %s\n", p)
		}
		for _, f := range cmp.ledger.failedDetail {
			fmt.Fprintf(w, "    failed operation: %s\n", f)
		}
		for s, n := range cmp.statuses {
			statuses[s] += n
		}
	}
	fmt.Fprintf(w, "time entries by status (equal on both sides): %s\n", counts(statuses))
	ops, deliveries, webhooks := map[string]int{}, map[string]int{}, map[string]int{}
	retried, maxAttempts, repaired := 0, 0, 0
	for _, cmp := range r.final {
		add(ops, cmp.ledger.ops)
		add(deliveries, cmp.ledger.deliveries)
		add(webhooks, cmp.webhooks)
		retried, maxAttempts, repaired = retried+cmp.ledger.retried, max(maxAttempts, cmp.ledger.maxAttempts), repaired+cmp.ledger.repaired
	}
	fmt.Fprintf(w, "operations: %s; %d took more than one attempt (at most %d)\n", counts(ops), retried, maxAttempts)
	fmt.Fprintf(w, "webhooks: Align's deliveries %s; Illumera's records %s, %d of them written by the status sweep\n",
		counts(webhooks), counts(deliveries), repaired)
}

func add(into, from map[string]int) {
	for k, v := range from {
		into[k] += v
	}
}

func counts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// verdict fails the test for every way the run went wrong.
func (r *run) verdict(t *testing.T, c *cluster) {
	failed := false
	fail := func(format string, args ...any) { failed = true; t.Errorf(format, args...) }
	for _, cmp := range r.final {
		if !cmp.converged() {
			fail("%s: Illumera and Align did not converge (%d problems; see the report above)", cmp.co.Name, len(cmp.problems))
		}
	}
	if r.reconcile.err != nil || r.reconcile.totals.Discrepancies+r.reconcile.totals.LinkProblems+r.reconcile.totals.Errors > 0 {
		fail("reconciliation after convergence: %+v %v", r.reconcile.totals, r.reconcile.err)
	}
	for name, how := range r.stops {
		if how != "" {
			fail("%s on SIGTERM: %s", name, how)
		}
	}
	for _, comp := range c.components() {
		_, kills, exits := comp.counts()
		if len(exits) > 0 {
			fail("%s", strings.Join(exits, "; "))
		}
		if kills == 0 {
			fail("%s was never killed: the run was too short to prove it survives a SIGKILL", comp.name)
		}
	}
	if n := r.work.failed.Load(); n > 0 {
		fail("%d workload statements failed: %s", n, strings.Join(r.work.errs, "; "))
	}
	if failed {
		c.dumpLogs()
	}
}
