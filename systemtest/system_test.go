package systemtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// config is a run's shape; `make soak` sets it through the environment.
type config struct {
	duration  time.Duration // of the workload under faults and kills
	seed      uint64
	companies int
	logDir    string // components' logs; kept when set
}

func configFromEnv(t *testing.T) config {
	cfg := config{duration: 2 * time.Minute, seed: uint64(time.Now().UnixNano()), companies: 3}
	if v := os.Getenv("ALIGNSYNC_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second {
			t.Fatalf("ALIGNSYNC_SOAK_DURATION=%q: want a duration of at least 10s, e.g. 30m", v)
		}
		cfg.duration = d
	}
	if v := os.Getenv("ALIGNSYNC_SOAK_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ALIGNSYNC_SOAK_SEED=%q: want an unsigned integer", v)
		}
		cfg.seed = n
	}
	if v := os.Getenv("ALIGNSYNC_SOAK_COMPANIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			t.Fatalf("ALIGNSYNC_SOAK_COMPANIES=%q: want 1 to 20", v)
		}
		cfg.companies = n
	}
	cfg.logDir = os.Getenv("ALIGNSYNC_SOAK_LOG_DIR")
	if cfg.logDir == "" {
		cfg.logDir = t.TempDir()
	} else if err := os.MkdirAll(cfg.logDir, 0o755); err != nil {
		t.Fatalf("ALIGNSYNC_SOAK_LOG_DIR=%q: %v", cfg.logDir, err)
	}
	return cfg
}

// TestWholeSystemUnderFaultsAndKills runs every component as a process of the
// shipped binary, drives a mixed workload for the configured duration under
// Align faults and random SIGKILLs, then stops the faults and requires that
// the system heals itself: Illumera and Align equal entity by entity, every
// operation done, reconciliation clean, every component stopping cleanly.
func TestWholeSystemUnderFaultsAndKills(t *testing.T) {
	cfg := configFromEnv(t)
	c := newCluster(t, clusterOptions{logDir: cfg.logDir})
	ctx := context.Background()
	companies := c.connectCompanies(ctx, cfg.companies)
	r := &run{cfg: cfg, started: time.Now()}
	r.work = &workload{pool: c.env.Pool, companies: companies, seed: cfg.seed, every: 200 * time.Millisecond}
	r.mgrs = &managers{ctl: c.ctl, apiURL: c.env.Align.BaseURL, companies: companies, seed: cfg.seed, every: time.Second}
	r.chaos = &chaos{c: c, rng: rand.New(rand.NewPCG(cfg.seed, 7)), phaseLen: 15 * time.Second,
		killGap: [2]time.Duration{3 * time.Second, 9 * time.Second}, phasesRun: map[string]int{}}
	fmt.Printf("system test: %s of workload, seed %d (ALIGNSYNC_SOAK_SEED), %d companies, logs in %s\n",
		cfg.duration, cfg.seed, cfg.companies, cfg.logDir)

	r.underFire(ctx, t)
	if _, err := c.ctl.SetFaults(ctx, noFaults); err != nil {
		t.Fatalf("stopping the faults: %v", err)
	}
	r.faultsStopped = time.Now()
	r.final = c.settle(ctx, companies, settleTimeout(cfg.duration))
	r.convergedAfter = time.Since(r.faultsStopped)
	if !allConverged(r.final) && retryable(r.final) {
		r.operatorSteps = c.operatorStep(ctx, companies)
		r.final = c.settle(ctx, companies, 3*time.Minute)
		r.convergedAfter = time.Since(r.faultsStopped)
	}
	r.reconcile = c.reconcile(ctx, cfg.duration)
	r.stops = c.stopAll()
	r.print(os.Stdout, c, companies)
	r.verdict(t, c)
}

// underFire runs the workload, the managers, the faults and the kills for
// the configured duration.
func (r *run) underFire(ctx context.Context, t *testing.T) {
	fire, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	done := make(chan struct{}, 3)
	go func() { r.work.run(fire); done <- struct{}{} }()
	go func() { r.mgrs.run(fire); done <- struct{}{} }()
	go func() {
		if err := r.chaos.runFaults(fire); err != nil {
			t.Error(err)
		}
		done <- struct{}{}
	}()
	r.chaos.runKills(fire, r.started)
	for range 3 {
		<-done
	}
}

// settleTimeout is how long the system gets to heal itself: parked
// operations come due within minutes, the status sweep reads a stuck entry
// within seconds.
func settleTimeout(d time.Duration) time.Duration { return 3*time.Minute + d/6 }

// settle compares every company until all converge or timeout passes, and
// returns the last comparison.
func (c *cluster) settle(ctx context.Context, companies []company, timeout time.Duration) map[string]*comparison {
	deadline := time.Now().Add(timeout)
	for {
		out := map[string]*comparison{}
		for _, co := range companies {
			cmp, err := c.compare(ctx, co)
			if err != nil {
				c.t.Fatal(err)
			}
			out[co.ID] = cmp
		}
		if allConverged(out) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(2 * time.Second)
	}
}

func allConverged(cmps map[string]*comparison) bool {
	for _, cmp := range cmps {
		if !cmp.converged() {
			return false
		}
	}
	return true
}

// retryable: there is something Retry Failed would act on.
func retryable(cmps map[string]*comparison) bool {
	for _, cmp := range cmps {
		if cmp.ledger.ops["failed"]+cmp.ledger.deliveries["failed"]+cmp.ledger.deliveries["received"] > 0 {
			return true
		}
	}
	return false
}

// operatorStep is what the admin guide tells an operator to do when the
// sync does not catch up: Retry Failed, on operations and on deliveries.
func (c *cluster) operatorStep(ctx context.Context, companies []company) []string {
	var steps []string
	for _, co := range companies {
		var reset struct {
			Reset int64 `json:"reset"`
		}
		if err := c.adminAPI(ctx, http.MethodPost, co.ID, "/sync/retry-failed", nil, &reset); err != nil {
			c.t.Errorf("Retry Failed for %s: %v", co.Name, err)
		}
		var retried struct {
			Retried int `json:"retried"`
		}
		if err := c.adminAPI(ctx, http.MethodPost, co.ID, "/webhook-deliveries/retry-failed", nil, &retried); err != nil {
			c.t.Errorf("Retry Failed on the deliveries of %s: %v", co.Name, err)
		}
		steps = append(steps, fmt.Sprintf("%s: Retry Failed reset %d operations and retried %d deliveries", co.Name, reset.Reset, retried.Retried))
	}
	return steps
}

// machine names where a run happened, for the record.
func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %s/%s, %d CPUs, %s", host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}
