package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/illumera/alignsync/internal/testenv"
)

type bench struct {
	o    options
	pg   *testenv.Postgres
	k    *testenv.Kafka
	url  string
	pool *pgxpool.Pool
	adm  *kadm.Client
	kcl  *kgo.Client
	dir  string
	bin  string
}

// result is one workload: the backlog and every timed read of it.
type result struct {
	workload string
	rows     int
	walBytes int64
	recv     []reading // pg_recvlogical, one per round
	capture  []reading // alignsync capture, one per round
}

// reading is one reader draining the backlog.
type reading struct {
	seconds      float64 // pg_recvlogical: until it exited at the end LSN; capture: until the slot confirmed it
	kafkaSeconds float64 // capture: until Kafka held every message
	cpuSeconds   float64 // user + system time of the reader process
	peakRSSKiB   int64   // capture: VmHWM
}

func (r result) recvRate() float64 {
	return float64(r.rows) / median(r.recv, func(x reading) float64 { return x.seconds })
}
func (r result) captureRate() float64 {
	return float64(r.rows) / median(r.capture, func(x reading) float64 { return x.kafkaSeconds })
}
func (r result) confirmRate() float64 {
	return float64(r.rows) / median(r.capture, func(x reading) float64 { return x.seconds })
}
func (r result) ratio() float64 { return r.captureRate() / r.recvRate() }

func (r result) peakRSSKiB() int64 {
	var m int64
	for _, c := range r.capture {
		m = max(m, c.peakRSSKiB)
	}
	return m
}

func median(rs []reading, f func(reading) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func (r result) String() string {
	return fmt.Sprintf("%d rows, median pg_recvlogical %.0f rows/s, capture %.0f rows/s (%.0f rows/s to confirmation), ratio %.2f, capture peak RSS %.1f MiB",
		r.rows, r.recvRate(), r.captureRate(), r.confirmRate(), r.ratio(), float64(r.peakRSSKiB())/1024)
}

func newBench(ctx context.Context, pg *testenv.Postgres, k *testenv.Kafka, o options) (_ *bench, err error) {
	b := &bench{o: o, pg: pg, k: k}
	if b.dir, err = os.MkdirTemp("", "alignsync-bench-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(b.dir)
		}
	}()
	if b.url, err = pg.NewDatabase(ctx); err != nil {
		return nil, err
	}
	if b.pool, err = pgxpool.New(ctx, b.url); err != nil {
		return nil, err
	}
	if b.kcl, err = kgo.NewClient(kgo.SeedBrokers(k.Brokers...)); err != nil {
		return nil, err
	}
	b.adm = kadm.NewClient(b.kcl)
	b.bin = filepath.Join(b.dir, "alignsync")
	out, err := exec.Command("go", "build", "-o", b.bin, "github.com/illumera/alignsync/cmd/alignsync").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("building alignsync: %v: %s", err, out)
	}
	_, err = b.pool.Exec(ctx, `CREATE TABLE bench_rows (
		id bigint PRIMARY KEY, company_id uuid NOT NULL, amount numeric(12, 2), note text, status text, created_at timestamptz);
		CREATE PUBLICATION bench FOR TABLE bench_rows;
		CREATE PROCEDURE bench_fill_small(txns int, per int, base bigint) LANGUAGE plpgsql AS $$
		BEGIN
			FOR t IN 0 .. txns - 1 LOOP
				INSERT INTO bench_rows SELECT base + t::bigint * per + i, bench_company(t), i * 1.25, md5(i::text), 'draft', now()
				FROM generate_series(1, per) i;
				COMMIT;
			END LOOP;
		END $$;
		CREATE FUNCTION bench_company(n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
			$$ SELECT ('00000000-0000-4000-8000-' || lpad((n % 100)::text, 12, '0'))::uuid $$;`)
	return b, err
}

func (b *bench) close() {
	b.kcl.Close()
	b.pool.Close()
	os.RemoveAll(b.dir)
}

// measure fills the WAL for one workload, then lets pg_recvlogical and
// capture drain it in turn, each from its own slot created before the fill.
func (b *bench) measure(ctx context.Context, workload string) (result, error) {
	r := result{workload: workload, rows: b.o.rows}
	for i := 1; i <= b.o.rounds; i++ {
		for _, s := range []string{fmt.Sprintf("recv_%s_%d", workload, i), fmt.Sprintf("cap_%s_%d", workload, i)} {
			if _, err := b.pool.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, s); err != nil {
				return r, err
			}
		}
		if _, err := b.adm.CreateTopic(ctx, 4, 1, nil, fmt.Sprintf("bench.%s.%d", workload, i)); err != nil {
			return r, err
		}
	}
	start, err := b.lsn(ctx)
	if err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "%s: filling the WAL with %d row changes...\n", workload, b.o.rows)
	if err := b.fill(ctx, workload); err != nil {
		return r, err
	}
	end, err := b.waitFlushed(ctx)
	if err != nil {
		return r, err
	}
	r.walBytes = int64(end - start)
	for i := 1; i <= b.o.rounds; i++ {
		recv, err := b.runRecvLogical(ctx, fmt.Sprintf("recv_%s_%d", workload, i), end)
		if err != nil {
			return r, err
		}
		capt, err := b.runCapture(ctx, fmt.Sprintf("cap_%s_%d", workload, i), fmt.Sprintf("bench.%s.%d", workload, i), end, r.rows)
		if err != nil {
			return r, err
		}
		fmt.Fprintf(os.Stderr, "%s round %d: pg_recvlogical %.2fs (cpu %.2fs), capture %.2fs in Kafka, %.2fs confirmed (cpu %.2fs, peak RSS %.1f MiB)\n",
			workload, i, recv.seconds, recv.cpuSeconds, capt.kafkaSeconds, capt.seconds, capt.cpuSeconds, float64(capt.peakRSSKiB)/1024)
		r.recv, r.capture = append(r.recv, recv), append(r.capture, capt)
	}
	return r, nil
}

// waitFlushed returns the current WAL position once it is flushed: the fill
// commits asynchronously (synchronous_commit=off) and walsenders only send
// flushed WAL.
func (b *bench) waitFlushed(ctx context.Context) (pglogrepl.LSN, error) {
	end, err := b.lsn(ctx)
	if err != nil {
		return 0, err
	}
	for {
		var flushed string
		if err := b.pool.QueryRow(ctx, `SELECT pg_current_wal_flush_lsn()::text`).Scan(&flushed); err != nil {
			return 0, err
		}
		if f, _ := pglogrepl.ParseLSN(flushed); f >= end {
			return end, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *bench) fill(ctx context.Context, workload string) error {
	var base int64
	if err := b.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM bench_rows`).Scan(&base); err != nil {
		return err
	}
	switch workload {
	case "large":
		_, err := b.pool.Exec(ctx, `INSERT INTO bench_rows SELECT $1 + i, bench_company(i), i * 1.25, md5(i::text), 'draft', now()
			FROM generate_series(1, $2::bigint) i`, base, b.o.rows)
		return err
	case "small":
		_, err := b.pool.Exec(ctx, `CALL bench_fill_small($1, $2, $3)`, b.o.rows/b.o.smallTxnRows, b.o.smallTxnRows, base)
		return err
	}
	return fmt.Errorf("unknown workload %q (large or small)", workload)
}

func (b *bench) lsn(ctx context.Context) (pglogrepl.LSN, error) {
	var s string
	if err := b.pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&s); err != nil {
		return 0, err
	}
	return pglogrepl.ParseLSN(s)
}

// runRecvLogical times pg_recvlogical reading the slot up to end into a file.
func (b *bench) runRecvLogical(ctx context.Context, slot string, end pglogrepl.LSN) (reading, error) {
	var r reading
	bin, err := testenv.BinDir()
	if err != nil {
		return r, err
	}
	out := filepath.Join(b.dir, slot+".out")
	defer os.Remove(out)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_recvlogical"), "-d", b.url, "--slot", slot, "--start",
		"--endpos", end.String(), "--no-loop", "-v", "-o", "proto_version=1", "-o", "publication_names=bench", "-f", out)
	started := time.Now()
	o, err := cmd.CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("pg_recvlogical: %v: %s", err, o)
	}
	r.seconds = time.Since(started).Seconds()
	r.cpuSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		return r, fmt.Errorf("pg_recvlogical wrote nothing to %s: %s", out, o)
	}
	return r, nil
}

// runCapture times the capture binary until Kafka holds every message and
// the slot confirms end, sampling the process's peak RSS (VmHWM; rusage's
// maxrss would include the parent's memory at fork).
func (b *bench) runCapture(ctx context.Context, slot, topic string, end pglogrepl.LSN, rows int) (reading, error) {
	var r reading
	args := append([]string{"capture"}, strings.Fields(b.o.captureArgs)...)
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+b.url, "KAFKA_BROKERS="+strings.Join(b.k.Brokers, ","),
		"ALIGNSYNC_CAPTURE_SLOT="+slot, "ALIGNSYNC_CAPTURE_PUBLICATION=bench", "ALIGNSYNC_CAPTURE_TABLES=bench_rows",
		"ALIGNSYNC_CAPTURE_TOPIC="+topic, "ALIGNSYNC_CAPTURE_STATUS_INTERVAL=100ms", "ALIGNSYNC_CAPTURE_HEARTBEAT_INTERVAL=100ms",
		"ALIGNSYNC_METRICS_ADDR=127.0.0.1:0", "ALIGNSYNC_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, strings.Fields(b.o.captureEnv)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer cmd.Process.Kill()
	for tick := time.NewTicker(20 * time.Millisecond); ; <-tick.C {
		r.peakRSSKiB = max(r.peakRSSKiB, vmHWM(cmd.Process.Pid))
		if r.kafkaSeconds == 0 {
			if n, err := b.topicCount(ctx, topic); err == nil && n >= int64(rows) {
				r.kafkaSeconds = time.Since(started).Seconds()
			}
		}
		if c, err := b.confirmed(ctx, slot); err == nil && c >= end && r.kafkaSeconds > 0 {
			r.seconds = time.Since(started).Seconds()
			break
		}
		if time.Since(started) > 5*time.Minute {
			return r, fmt.Errorf("capture did not finish within 5 minutes")
		}
	}
	r.peakRSSKiB = max(r.peakRSSKiB, vmHWM(cmd.Process.Pid))
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return r, fmt.Errorf("capture exit: %w", err)
	}
	r.cpuSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return r, nil
}

// vmHWM is a process's peak resident set size in KiB, from /proc.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func (b *bench) topicCount(ctx context.Context, topic string) (int64, error) {
	offs, err := b.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	var n int64
	offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n, offs.Error()
}

func (b *bench) confirmed(ctx context.Context, slot string) (pglogrepl.LSN, error) {
	var s string
	if err := b.pool.QueryRow(ctx, `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&s); err != nil {
		return 0, err
	}
	return pglogrepl.ParseLSN(s)
}
