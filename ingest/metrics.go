package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a webhook request: the label of alignsync_ingest_webhooks_total.
const (
	resultProcessed    = "processed"    // recorded and applied (or explained in a note)
	resultDuplicate    = "duplicate"    // delivery id already recorded
	resultFailed       = "failed"       // recorded as failed (unknown entry, bad data)
	resultUnauthorized = "unauthorized" // signature missing, wrong or too old
	resultForbidden    = "forbidden"    // organizationId is not the connection's
	resultNotFound     = "not_found"    // unknown or disconnected connection
	resultInvalid      = "invalid"      // unreadable, oversized or malformed delivery
	resultError        = "error"        // internal fault (5xx); Align retries
)

var results = []string{resultProcessed, resultDuplicate, resultFailed, resultUnauthorized,
	resultForbidden, resultNotFound, resultInvalid, resultError}

// Metrics counts webhook deliveries and their effects.
type Metrics struct {
	webhooks     *prometheus.CounterVec
	failures     *prometheus.CounterVec
	statusWrites *prometheus.CounterVec
	duration     prometheus.Histogram
}

// NewMetrics registers ingest's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alignsync_ingest_webhooks_total",
			Help: "Webhook requests received from Align, by result.",
		}, []string{"result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alignsync_ingest_processing_failures_total",
			Help: "Deliveries recorded as failed (first attempt or retry), by reason.",
		}, []string{"reason"}),
		statusWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alignsync_ingest_status_writes_total",
			Help: "Time entry statuses written back from Align, by new status.",
		}, []string{"status"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "alignsync_ingest_webhook_duration_seconds",
			Help:    "Time to answer a webhook request, recording included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	for _, r := range results {
		m.webhooks.WithLabelValues(r)
	}
	for _, r := range []string{reasonUnknownEntry, reasonInvalidData, reasonDatabase} {
		m.failures.WithLabelValues(r)
	}
	for s := range eventStatusSet() {
		m.statusWrites.WithLabelValues(s)
	}
	reg.MustRegister(m.webhooks, m.failures, m.statusWrites, m.duration)
	return m
}

func eventStatusSet() map[string]bool {
	set := map[string]bool{}
	for _, s := range eventStatus {
		set[s] = true
	}
	return set
}

func (m *Metrics) request(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(result).Inc()
	m.duration.Observe(d.Seconds())
}

func (m *Metrics) outcome(o outcome) {
	if m == nil {
		return
	}
	if o.status == DeliveryFailed {
		m.failures.WithLabelValues(o.reason).Inc()
	}
	if o.wrote != "" {
		m.statusWrites.WithLabelValues(o.wrote).Inc()
	}
}
