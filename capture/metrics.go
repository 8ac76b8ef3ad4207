package capture

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are capture's Prometheus series, all named alignsync_capture_*.
// Labels are bounded: table takes the published tables' names, op one of
// c, u, d, t, reason one of the SlotLostError reasons.
type Metrics struct {
	Events          *prometheus.CounterVec
	DeadLetters     *prometheus.CounterVec
	Transactions    prometheus.Counter
	AckLatency      prometheus.Histogram
	ConfirmedLSN    prometheus.Gauge
	LastCommit      prometheus.Gauge
	RetainedWAL     prometheus.Gauge
	Unconfirmed     prometheus.Gauge
	ProduceErrors   prometheus.Counter
	InflightBytes   prometheus.Gauge
	Heartbeats      prometheus.Counter
	LogicalMessages prometheus.Counter
	Reconnects      prometheus.Counter
	Active          prometheus.Gauge
	SlotLost        *prometheus.GaugeVec
}

// NewMetrics registers capture's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alignsync_capture_events_total",
			Help: "Row changes decoded from the replication stream, by table and operation (c, u, d, t).",
		}, []string{"table", "op"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alignsync_capture_dead_letters_total",
			Help: "Changes that could not be encoded and went to the dead-letter topic, by table.",
		}, []string{"table"}),
		Transactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alignsync_capture_transactions_total",
			Help: "Source transactions whose every change Kafka acknowledged.",
		}),
		AckLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "alignsync_capture_commit_to_ack_seconds",
			Help:    "Time from a transaction's commit timestamp (PostgreSQL) to Kafka acknowledging its last change (capture's clock).",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		ConfirmedLSN: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alignsync_capture_confirmed_lsn",
			Help: "The flush position last confirmed to PostgreSQL, as a WAL byte position.",
		}),
		LastCommit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alignsync_capture_last_commit_timestamp_seconds",
			Help: "Commit time (PostgreSQL's clock) of the last transaction acknowledged by Kafka, Unix seconds.",
		}),
		RetainedWAL: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alignsync_capture_slot_retained_wal_bytes",
			Help: "WAL the slot keeps on the server: pg_current_wal_lsn() - restart_lsn, polled.",
		}),
		Unconfirmed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alignsync_capture_slot_unconfirmed_bytes",
			Help: "WAL written but not yet confirmed by capture: pg_current_wal_lsn() - confirmed_flush_lsn, polled.",
		}),
		ProduceErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alignsync_capture_produce_errors_total",
			Help: "Kafka produce requests that failed after the writer's retries.",
		}),
		InflightBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alignsync_capture_inflight_bytes",
			Help: "Bytes handed to the Kafka writer and not yet acknowledged.",
		}),
		Heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alignsync_capture_heartbeats_total",
			Help: "Heartbeat messages written with pg_logical_emit_message.",
		}),
		LogicalMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alignsync_capture_logical_messages_total",
			Help: "Logical decoding messages received (heartbeats included).",
		}),
		Reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alignsync_capture_reconnects_total",
			Help: "Replication sessions that ended with an error and were restarted.",
		}),
		Active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alignsync_capture_active",
			Help: "1 while this process holds the capture lock and streams, 0 as a standby.",
		}),
		SlotLost: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "alignsync_capture_slot_lost",
			Help: "1 once capture stopped because its replication slot no longer holds every change it has not read " +
				"(reason: invalidated, dropped, moved); see SlotLostError for the recovery.",
		}, []string{"reason"}),
	}
	for _, r := range slotLostReasons {
		m.SlotLost.WithLabelValues(r)
	}
	reg.MustRegister(m.Events, m.DeadLetters, m.Transactions, m.AckLatency, m.ConfirmedLSN, m.LastCommit,
		m.RetainedWAL, m.Unconfirmed, m.ProduceErrors, m.InflightBytes, m.Heartbeats, m.LogicalMessages,
		m.Reconnects, m.Active, m.SlotLost)
	return m
}
