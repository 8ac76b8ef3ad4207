package demo

import (
	"context"
	"fmt"
	"math"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// progress prints one line a second until ctx ends.
func (w *world) progress(ctx context.Context, d *driver) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.printProgress(d)
	}
}

// printProgress prints one progress line. Its queries run on a context of
// their own: the workload's may end between the tick and the queries, which
// would print zeros instead of the counts.
func (w *world) printProgress(d *driver) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t := int(time.Since(d.start).Seconds())
	s, err := w.snapshot(ctx)
	if err != nil {
		fmt.Fprintf(w.opts.Out, "t=%3ds  changes %5d  (counts unavailable: %v)\n", t, d.changes.Load(), err)
		return
	}
	fmt.Fprintf(w.opts.Out, "t=%3ds  changes %5d  captured %5.0f  ops done %5d failed %3d open %3d  webhooks %4d  manager actions %4d  e2e p99 %s\n",
		t, d.changes.Load(), s.captured, s.outbox["done"], s.outbox["failed"],
		s.outbox["pending"]+s.outbox["processing"], s.webhooks, d.managed.Load(), s.p99)
}

type snapshot struct {
	captured float64
	outbox   map[string]int
	webhooks int
	p99      string
}

func (w *world) snapshot(ctx context.Context) (snapshot, error) {
	s := snapshot{outbox: map[string]int{}, p99: "-"}
	rows, err := w.pool.Query(ctx, `SELECT status, count(*) FROM align_sync.outbox GROUP BY status`)
	if err != nil {
		return s, fmt.Errorf("counting operations: %w", err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return s, fmt.Errorf("counting operations: %w", err)
		}
		s.outbox[st] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("counting operations: %w", err)
	}
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.webhook_deliveries WHERE status = 'processed'`).Scan(&s.webhooks); err != nil {
		return s, fmt.Errorf("counting webhook deliveries: %w", err)
	}
	mfs, err := w.reg.Gather()
	if err != nil {
		return s, fmt.Errorf("reading metrics: %w", err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "alignsync_capture_events_total":
			for _, m := range mf.GetMetric() {
				s.captured += m.GetCounter().GetValue()
			}
		case "alignsync_sink_end_to_end_latency_seconds":
			if q, ok := quantile(0.99, mf.GetMetric()[0].GetHistogram()); ok {
				s.p99 = time.Duration(q * float64(time.Second)).Round(time.Millisecond).String()
			}
		}
	}
	return s, nil
}

// quantile estimates a quantile from cumulative buckets by linear
// interpolation, as PromQL's histogram_quantile does.
func quantile(q float64, h *dto.Histogram) (float64, bool) {
	total := float64(h.GetSampleCount())
	if total == 0 {
		return 0, false
	}
	rank, lower, below := q*total, 0.0, 0.0
	for _, b := range h.GetBucket() {
		count := float64(b.GetCumulativeCount())
		if count >= rank {
			if count == below {
				return b.GetUpperBound(), true
			}
			return lower + (b.GetUpperBound()-lower)*(rank-below)/(count-below), true
		}
		lower, below = b.GetUpperBound(), count
	}
	return math.Inf(1), true
}
