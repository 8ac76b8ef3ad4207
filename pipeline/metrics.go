package pipeline

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/pipeline/ledger"
)

type metrics struct {
	operations *prometheus.CounterVec
	skips      *prometheus.CounterVec
	messages   *prometheus.CounterVec
	endToEnd   prometheus.Histogram
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	outbox     *prometheus.GaugeVec
	lag        *prometheus.GaugeVec

	companyPending *prometheus.GaugeVec
	oldestPending  prometheus.Gauge
	companiesReady prometheus.Gauge
	slots          prometheus.Gauge
	slotsBusy      prometheus.Gauge
	leased         prometheus.Gauge
	takeovers      prometheus.Counter
	leasesLost     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_sink_operations_total",
			Help: "Align operations by entity type, operation and outcome (done, duplicate, waiting, parked, failed, retry_later, rate_limited)."},
			[]string{"entity_type", "op", "outcome"}),
		skips: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_sink_changes_skipped_total",
			Help: "Changes that called for nothing: no connection or committed before it, or a skipped table."},
			[]string{"table", "reason"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_sink_messages_total",
			Help: "Kafka messages consumed, by result (recorded, no_company, dead_lettered)."}, []string{"result"}),
		endToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "alignsync_sink_end_to_end_latency_seconds",
			Help:    "From the source transaction's commit to Align's 2xx for the operation's first successful run.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alignsync_align_requests_total",
			Help: "HTTP attempts against Align by templated route and status class (2xx, 4xx, 5xx, error)."},
			[]string{"route", "status_class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "alignsync_align_request_duration_seconds",
			Help: "Duration of HTTP attempts against Align.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)},
			[]string{"route"}),
		outbox: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "alignsync_sink_outbox_operations",
			Help: "Unfinished operations in align_sync.outbox by status: pending, processing, failed (polled)."}, []string{"status"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "alignsync_sink_consumer_lag_messages",
			Help: "Messages between the consumer group's committed offset and the end of each partition (polled)."},
			[]string{"partition"}),
		companyPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "alignsync_sink_company_pending_operations",
			Help: "Pending or processing operations of the companies with the most (top 10, polled)."}, []string{"company_id"}),
		oldestPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alignsync_sink_oldest_pending_age_seconds",
			Help: "Age of the oldest pending or processing operation; 0 when there is none (polled)."}),
		companiesReady: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alignsync_sink_companies_ready",
			Help: "Companies whose next ready time has come: leased and running, or waiting for an executor (polled)."}),
		slots: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alignsync_sink_executor_slots",
			Help: "Executor slots of this instance: companies it runs at once."}),
		slotsBusy: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alignsync_sink_executor_slots_busy",
			Help: "Executor slots running a company's turn now."}),
		leased: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alignsync_sink_companies_leased",
			Help: "Companies this instance holds the lease of: running, waiting for a slot or for their rate budget."}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{Name: "alignsync_sink_lease_takeovers_total",
			Help: "Companies claimed after another executor's lease expired unreleased (an instance died or stalled)."}),
		leasesLost: prometheus.NewCounter(prometheus.CounterOpts{Name: "alignsync_sink_leases_lost_total",
			Help: "Companies this instance stopped running because another executor had taken them over."}),
	}
	reg.MustRegister(m.operations, m.skips, m.messages, m.endToEnd, m.requests, m.duration, m.outbox, m.lag,
		m.companyPending, m.oldestPending, m.companiesReady, m.slots, m.slotsBusy, m.leased, m.takeovers, m.leasesLost)
	return m
}

func (m *metrics) operation(row ledger.Row, outcome string) {
	m.operations.WithLabelValues(row.Op.Kind.EntityType(), string(row.Op.Kind), outcome).Inc()
}

func (m *metrics) completed(row ledger.Row) {
	if row.Attempts == 1 && row.Op.TsMs > 0 {
		m.endToEnd.Observe(time.Since(time.UnixMilli(row.Op.TsMs)).Seconds())
	}
}

func (m *metrics) skipped(table, reason string) { m.skips.WithLabelValues(table, reason).Inc() }

// observe is the Align client's per-attempt hook.
func (m *metrics) observe(route string, status int, d time.Duration) {
	class := "error"
	if status > 0 {
		class = strconv.Itoa(status/100) + "xx"
	}
	m.requests.WithLabelValues(route, class).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}
