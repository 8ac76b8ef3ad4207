package reconcile

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics describes reconciliation runs for alerting: a stale last success
// means the nightly comparison stopped proving anything.
type Metrics struct {
	lastSuccess   prometheus.Gauge
	lastRunFound  prometheus.Gauge
	duration      prometheus.Histogram
	runs          *prometheus.CounterVec
	discrepancies *prometheus.CounterVec
	linkProblems  *prometheus.CounterVec
	repairs       *prometheus.CounterVec
	sweepChecks   *prometheus.CounterVec
}

// Run outcomes, the values of alignsync_reconcile_runs_total's outcome label.
const (
	outcomeSucceeded  = "succeeded"  // every company compared
	outcomeIncomplete = "incomplete" // some company or project could not be compared
	outcomeFailed     = "failed"     // nothing could be compared
)

// NewMetrics registers reconciliation's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alignsync_reconcile_last_success_timestamp_seconds",
			Help: "Unix time at which the last reconciliation run that compared every company finished."}),
		lastRunFound: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alignsync_reconcile_last_run_discrepancies",
			Help: "Discrepancies recorded by the most recent finished reconciliation run, whichever process ran it (read from align_sync.reconciliation_runs)."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "alignsync_reconcile_duration_seconds",
			Help:    "Duration of reconciliation runs, whatever their outcome.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_reconcile_runs_total",
			Help: "Reconciliation runs by outcome (succeeded, incomplete, failed)."}, []string{"outcome"}),
		discrepancies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_reconcile_discrepancies_found_total",
			Help: "Discrepancies recorded, by field (approved_minutes, approved_cost_cents)."}, []string{"field"}),
		linkProblems: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_reconcile_link_problems_total",
			Help: "Entity links Align disagrees with, by problem (unknown_to_align, points_elsewhere)."}, []string{"problem"}),
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_reconcile_repairs_total",
			Help: "Repairs applied, by kind (status: a missed webhook written back; reenqueue: an entry sent again)."}, []string{"kind"}),
		sweepChecks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_reconcile_sweep_checks_total",
			Help: "Time entries the status sweep read from Align, by result (in_sync, repaired: a missed webhook's status written back, skipped, not_found, error)."}, []string{"result"}),
	}
	for _, o := range []string{outcomeSucceeded, outcomeIncomplete, outcomeFailed} {
		m.runs.WithLabelValues(o)
	}
	for _, f := range []string{FieldApprovedMinutes, FieldApprovedCostCents} {
		m.discrepancies.WithLabelValues(f)
	}
	for _, p := range []string{LinkUnknownToAlign, LinkPointsElsewhere} {
		m.linkProblems.WithLabelValues(p)
	}
	for _, k := range []string{RepairStatus, RepairReenqueue} {
		m.repairs.WithLabelValues(k)
	}
	for _, r := range []string{sweepInSync, sweepRepaired, sweepSkipped, sweepNotFound, sweepError} {
		m.sweepChecks.WithLabelValues(r)
	}
	reg.MustRegister(m.lastSuccess, m.lastRunFound, m.duration, m.runs, m.discrepancies, m.linkProblems, m.repairs, m.sweepChecks)
	return m
}

func (m *Metrics) sweepCheck(result string) {
	if m != nil {
		m.sweepChecks.WithLabelValues(result).Inc()
	}
}

// observe records a finished run.
func (m *Metrics) observe(r Report, outcome string) {
	if m == nil {
		return
	}
	m.duration.Observe(r.FinishedAt.Sub(r.StartedAt).Seconds())
	m.runs.WithLabelValues(outcome).Inc()
	if outcome == outcomeSucceeded {
		m.lastSuccess.Set(float64(r.FinishedAt.UnixNano()) / float64(time.Second))
	}
	for _, c := range r.Companies {
		for _, p := range c.Projects {
			for _, d := range p.Discrepancies {
				m.discrepancies.WithLabelValues(d.Field).Inc()
			}
		}
		for _, l := range c.LinkProblems {
			m.linkProblems.WithLabelValues(l.Problem).Inc()
		}
		for _, rp := range c.Repairs {
			if rp.Applied {
				m.repairs.WithLabelValues(rp.Kind).Inc()
			}
		}
	}
}

// WatchRuns keeps the last-success and last-run-discrepancies gauges true to
// align_sync.reconciliation_runs until ctx ends, so that runs made by another
// process (the reconcile CronJob, another serve instance) show on this
// process's /metrics too.
func (m *Metrics) WatchRuns(ctx context.Context, pool *pgxpool.Pool, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var last *time.Time
		err := pool.QueryRow(ctx, `SELECT max(finished_at) FROM align_sync.reconciliation_runs WHERE status = 'succeeded'`).Scan(&last)
		if err == nil && last != nil {
			ts := float64(last.UnixNano()) / float64(time.Second)
			if ts > gaugeValue(m.lastSuccess) {
				m.lastSuccess.Set(ts)
			}
		}
		var found int64
		err = pool.QueryRow(ctx, `SELECT discrepancies FROM align_sync.reconciliation_runs
			WHERE finished_at IS NOT NULL AND status IN ('succeeded', 'incomplete') ORDER BY finished_at DESC LIMIT 1`).Scan(&found)
		if err == nil {
			m.lastRunFound.Set(float64(found))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gaugeValue reads a gauge's current value.
func gaugeValue(g prometheus.Gauge) float64 {
	var pb dto.Metric
	if err := g.Write(&pb); err != nil {
		return 0
	}
	return pb.GetGauge().GetValue()
}
