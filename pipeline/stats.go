package pipeline

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// statsLoop polls the outbox depth and the group's lag: gauges an SRE reads
// on the first screen of the dashboard.
func (s *Sink) statsLoop(ctx context.Context) {
	kc, err := kgo.NewClient(kgo.SeedBrokers(s.cfg.Brokers...))
	if err != nil {
		s.logger.Warn("consumer lag will not be reported", "error", err)
		return
	}
	defer kc.Close()
	adm := kadm.NewClient(kc)
	t := time.NewTicker(s.cfg.StatsInterval)
	defer t.Stop()
	for {
		s.pollOutbox(ctx)
		s.pollLag(ctx, adm)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Sink) pollOutbox(ctx context.Context) {
	counts := map[string]float64{statusPending: 0, statusProcessing: 0, statusDone: 0, statusFailed: 0}
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM align_sync.outbox GROUP BY status`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		if rows.Scan(&status, &n) == nil {
			counts[status] = float64(n)
		}
	}
	for status, n := range counts {
		s.metrics.outbox.WithLabelValues(status).Set(n)
	}
}

func (s *Sink) pollLag(ctx context.Context, adm *kadm.Client) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lags, err := adm.Lag(ctx, s.cfg.Group)
	if err != nil {
		return
	}
	lags.Each(func(l kadm.DescribedGroupLag) {
		for _, p := range l.Lag[s.cfg.Topic] {
			if p.Lag >= 0 {
				s.metrics.lag.WithLabelValues(strconv.Itoa(int(p.Partition))).Set(float64(p.Lag))
			}
		}
	})
}
