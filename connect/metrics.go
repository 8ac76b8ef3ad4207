package connect

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/connect/credentials"
)

// Metrics counts connect attempts and health checks, and the connections
// by status.
type Metrics struct {
	attempts    *prometheus.CounterVec
	health      *prometheus.CounterVec
	connections *prometheus.GaugeVec
}

// connectOutcomes are every outcome label, pre-created so dashboards see zeros.
var connectOutcomes = []string{credentials.StatusConnected, CodeKeyInvalid, CodeProjectScoped, CodeWebhookFailed, CodeAlignUnavailable, CodeOrganizationChanged, "error"}

// NewMetrics registers connect's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alignsync_connect_attempts_total",
			Help: "Attempts to connect a company to Align, by outcome (connected, a failure code, or error for an internal fault).",
		}, []string{"outcome"}),
	}
	m.health = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "alignsync_connect_health_checks_total",
		Help: "Periodic checks of connected companies (GET /me, webhook still registered), by outcome.",
	}, []string{"outcome"})
	m.connections = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "alignsync_connections",
		Help: "Align connections by status (connected, error, disconnected), read from align_sync.connections by serve's health check.",
	}, []string{"status"})
	for _, o := range connectOutcomes {
		m.attempts.WithLabelValues(o)
	}
	for _, o := range healthOutcomes {
		m.health.WithLabelValues(o)
	}
	for _, st := range credentials.Statuses {
		m.connections.WithLabelValues(st)
	}
	reg.MustRegister(m.attempts, m.health, m.connections)
	return m
}

func (m *Metrics) healthCheck(outcome string) {
	if m != nil {
		m.health.WithLabelValues(outcome).Inc()
	}
}

// setConnections sets the gauge of every status, zero for those absent.
func (m *Metrics) setConnections(counts map[string]int64) {
	for _, st := range credentials.Statuses {
		m.connections.WithLabelValues(st).Set(float64(counts[st]))
	}
}

func (m *Metrics) connectAttempt(outcome string) {
	if m != nil {
		m.attempts.WithLabelValues(outcome).Inc()
	}
}
