package admin

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts refused admin requests.
type Metrics struct {
	authFailures *prometheus.CounterVec
}

// NewMetrics registers the admin API's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alignsync_admin_auth_failures_total",
			Help: "Admin API requests refused, by reason (unauthenticated: no valid token; forbidden: another company).",
		}, []string{"reason"}),
	}
	m.authFailures.WithLabelValues("unauthenticated")
	m.authFailures.WithLabelValues("forbidden")
	reg.MustRegister(m.authFailures)
	return m
}

func (m *Metrics) authFailure(status int) {
	if m == nil {
		return
	}
	reason := "forbidden"
	if status == http.StatusUnauthorized {
		reason = "unauthenticated"
	}
	m.authFailures.WithLabelValues(reason).Inc()
}
