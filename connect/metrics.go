package connect

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts connect attempts.
type Metrics struct {
	attempts *prometheus.CounterVec
}

// connectOutcomes are every outcome label, pre-created so dashboards see zeros.
var connectOutcomes = []string{"connected", CodeKeyInvalid, CodeProjectScoped, CodeWebhookFailed, CodeAlignUnavailable, CodeOrganizationChanged, "error"}

// NewMetrics registers connect's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alignsync_connect_attempts_total",
			Help: "Attempts to connect a company to Align, by outcome (connected, a failure code, or error for an internal fault).",
		}, []string{"outcome"}),
	}
	for _, o := range connectOutcomes {
		m.attempts.WithLabelValues(o)
	}
	reg.MustRegister(m.attempts)
	return m
}

func (m *Metrics) connectAttempt(outcome string) {
	if m != nil {
		m.attempts.WithLabelValues(outcome).Inc()
	}
}
