package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/internal/testenv"
)

// TestWatchRunsReportsRunsOfOtherProcesses: a run recorded by another
// process (the CronJob) shows as this process's last success.
func TestWatchRunsReportsRunsOfOtherProcesses(t *testing.T) {
	env := testenv.New(t)
	m := NewMetrics(prometheus.NewRegistry())
	finished := time.Date(2026, 11, 20, 2, 0, 7, 0, time.UTC)
	if _, err := env.Pool.Exec(context.Background(), `INSERT INTO align_sync.reconciliation_runs
		(run_id, kind, window_spec, status, started_at, finished_at, discrepancies) VALUES ($1, 'manual', '7d', 'succeeded', $2, $3, 2),
		($4, 'manual', '7d', 'failed', $3, $3 + interval '1 hour', 0)`, uuid.NewString(), finished.Add(-time.Minute), finished, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.WatchRuns(ctx, env.Pool, 10*time.Millisecond)
	deadline := time.Now().Add(30 * time.Second)
	for gaugeValue(m.lastSuccess) != float64(finished.Unix()) || gaugeValue(m.lastRunFound) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("last success = %v, last run's discrepancies = %v; want %v and 2 (the succeeded run, not the later failed one)",
				gaugeValue(m.lastSuccess), gaugeValue(m.lastRunFound), finished.Unix())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
