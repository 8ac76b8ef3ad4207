package pipeline

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/illumera/alignsync/pipeline/ledger"
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

// pollOutbox reads the queues' depth. Done operations are not counted: the
// outbox keeps them for good, and counting them would grow with history.
func (s *Sink) pollOutbox(ctx context.Context) {
	d, err := ledger.ReadDepth(ctx, s.pool, 10)
	if err != nil {
		return
	}
	for status, n := range d.ByStatus {
		s.metrics.outbox.WithLabelValues(string(status)).Set(float64(n))
	}
	s.metrics.companyPending.Reset()
	for _, c := range d.Top {
		s.metrics.companyPending.WithLabelValues(c.CompanyID).Set(float64(c.Pending))
	}
	s.metrics.oldestPending.Set(d.OldestPending.Seconds())
	s.metrics.companiesReady.Set(float64(d.Ready))
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
