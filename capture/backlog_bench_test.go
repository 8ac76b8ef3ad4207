package capture

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/illumera/alignsync/internal/testenv"
)

// BenchmarkBacklog runs capture in-process on a backlog of b.N small
// transactions of 10 rows, for CPU and memory profiles:
//
//	go test ./capture -run '^$' -bench Backlog -benchtime 20000x -cpuprofile cpu.out
//
// BENCHMARKS.md's numbers come from ./capture/bench, which runs the real
// binary next to pg_recvlogical.
func BenchmarkBacklog(b *testing.B) {
	env := testenv.New(b)
	ctx := context.Background()
	if _, err := env.Pool.Exec(ctx, `CREATE TABLE capture_backlog (id bigint PRIMARY KEY, company_id uuid NOT NULL,
		amount numeric(12, 2), note text, status text, created_at timestamptz)`); err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.Brokers, cfg.Tables = env.DatabaseURL, env.Kafka.Brokers, []string{"capture_backlog"}
	cfg.Slot, cfg.StatusInterval = "bench_"+dbName(env.DatabaseURL), 100*time.Millisecond
	c, err := New(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	pool := must(c.openPool(ctx))
	defer pool.Close()
	if err := c.setup(ctx, pool); err != nil {
		b.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, fmt.Sprintf(`DO $$ BEGIN FOR t IN 0 .. %d - 1 LOOP
		INSERT INTO capture_backlog SELECT t * 10 + i, ('00000000-0000-4000-8000-' || lpad((t %% 100)::text, 12, '0'))::uuid,
			i * 1.25, md5(i::text), 'draft', now() FROM generate_series(1, 10) i;
		COMMIT; END LOOP; END $$`, b.N)); err != nil {
		b.Fatal(err)
	}
	cl := must(kgo.NewClient(kgo.SeedBrokers(env.Kafka.Brokers...)))
	defer cl.Close()
	adm := kadm.NewClient(cl)
	want := int64(b.N) * 10

	b.ResetTimer()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- c.Run(runCtx) }()
	for {
		offs, err := adm.ListEndOffsets(ctx, cfg.Topic)
		var n int64
		if err == nil {
			offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
		}
		if n >= want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "rows/s")
}
