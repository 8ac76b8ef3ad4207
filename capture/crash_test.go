package capture

import (
	"github.com/illumera/alignsync/change"

	"context"
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/illumera/alignsync/internal/testenv"
)

const (
	crashRows  = 20_000
	crashKills = 6
	crashRate  = 1_500 // row changes per second: kills land mid-stream, not after it
)

// TestCrashLosesNothing is guarantee 1: the real binary is SIGKILLed at
// random moments during a mixed workload and restarted each time. Every
// committed change ends up in Kafka, confirmed_flush_lsn is never ahead of
// what Kafka held when it was sampled, and within a key first deliveries are
// in commit order.
func TestCrashLosesNothing(t *testing.T) {
	bin := buildBinary(t)
	env := testenv.New(t)
	slot := "alignsync_" + dbName(env.DatabaseURL)
	// A long batch timeout widens the gap between receiving a transaction and
	// Kafka acknowledging it: an acknowledgement sent too early shows.
	environ := append(captureEnv(env, slot), "ALIGNSYNC_CAPTURE_BATCH_TIMEOUT=50ms")
	current := startProc(t, bin, environ)
	eventually(t, 60*time.Second, "the slot to be streamed", func() (bool, error) {
		return slotActive(t, env, slot), nil
	})
	witness := slot + "_witness"
	mustExec(t, env, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, witness)
	t.Cleanup(func() { _, _ = env.Pool.Exec(context.Background(), `SELECT pg_drop_replication_slot($1)`, witness) })

	w := newWorkload(t, env)
	sampler := startSampler(t, env, slot)
	var progress atomic.Int64
	killerDone := make(chan int)
	go func() { killerDone <- killAtRandom(t, bin, environ, &current, &progress) }()
	w.run(t, crashRows, &progress)
	kills := <-killerDone

	final := currentLSN(t, env)
	eventually(t, 90*time.Second, "the slot to confirm the whole workload", func() (bool, error) {
		return confirmedFlush(t, env, slot) >= final, nil
	})
	samples := sampler.stop()
	if code := current.stop(t); code != 0 {
		t.Errorf("capture exited with %d after SIGTERM, want 0", code)
	}

	expected := witnessChanges(t, env, witness)
	if len(expected) != w.rows {
		t.Fatalf("witness slot has %d changes, the workload made %d", len(expected), w.rows)
	}
	delivered := readAll(t, env)
	checkCoverage(t, expected, delivered)
	checkConfirmedNeverAhead(t, expected, delivered, samples)
	checkFirstDeliveryOrder(t, delivered)
	t.Logf("%d changes, %d kills, %d messages in Kafka (%d duplicates), %d samples",
		len(expected), kills, len(delivered.records), len(delivered.records)-len(delivered.first), len(samples))
	if kills < 5 {
		t.Fatalf("only %d kills", kills)
	}
}

func slotActive(t *testing.T, env *testenv.Env, slot string) bool {
	var active bool
	err := env.Pool.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active)
	return err == nil && active
}

// killAtRandom SIGKILLs the capture when the workload passes random row
// counts, a random moment later, and restarts it at once.
func killAtRandom(t *testing.T, bin string, environ []string, current **proc, progress *atomic.Int64) int {
	thresholds := make([]int64, crashKills)
	for i := range thresholds {
		thresholds[i] = 1_000 + rand.Int64N(crashRows-2_000)
	}
	sort.Slice(thresholds, func(i, j int) bool { return thresholds[i] < thresholds[j] })
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	kills := 0
	for _, th := range thresholds {
		for progress.Load() < th {
			<-tick.C
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		(*current).kill()
		kills++
		*current = startProc(t, bin, environ)
	}
	return kills
}

// sample is the slot's confirmed position and, read after it, the CDC
// topic's end offsets.
type sample struct {
	confirmed pglogrepl.LSN
	ends      map[int32]int64
}

type sampler struct {
	stopc chan struct{}
	done  chan []sample
}

func startSampler(t *testing.T, env *testenv.Env, slot string) *sampler {
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	s := &sampler{stopc: make(chan struct{}), done: make(chan []sample)}
	go func() {
		defer cl.Close()
		var out []sample
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stopc:
				s.done <- out
				return
			case <-tick.C:
			}
			c := confirmedFlush(t, env, slot)
			offs, err := adm.ListEndOffsets(context.Background(), testenv.CDCTopic)
			if err != nil || offs.Error() != nil {
				continue
			}
			ends := map[int32]int64{}
			offs.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
			out = append(out, sample{confirmed: c, ends: ends})
		}
	}()
	return s
}

func (s *sampler) stop() []sample {
	close(s.stopc)
	return <-s.done
}

// expectedChange is one committed change as the witness slot decodes it.
type expectedChange struct {
	commitLSN uint64
	index     int
}

// witnessChanges decodes the witness slot (pgoutput, same publication) into
// the (commit LSN, index) of every committed change.
func witnessChanges(t *testing.T, env *testenv.Env, slot string) []expectedChange {
	rows, err := env.Pool.Query(context.Background(), `SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
		'proto_version', '1', 'publication_names', 'alignsync')`, slot)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []expectedChange
	var commit uint64
	index := 0
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		switch data[0] {
		case 'B':
			commit, index = binary.BigEndian.Uint64(data[1:]), 0
		case 'I', 'U', 'D':
			out = append(out, expectedChange{commit, index})
			index++
		case 'T':
			for n := binary.BigEndian.Uint32(data[1:]); n > 0; n-- {
				out = append(out, expectedChange{commit, index})
				index++
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// delivered is the CDC topic read from the start.
type delivered struct {
	records []consumed
	first   map[string]consumed // by change ID: the earliest delivery
}

func readAll(t *testing.T, env *testenv.Env) delivered {
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	offs, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), testenv.CDCTopic)
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	offs.Each(func(o kadm.ListedOffset) { total += o.Offset })
	r := newReader(t, env.Kafka.Brokers, testenv.CDCTopic)
	recs := r.waitChanges(t, 60*time.Second, "the whole topic", func(cs []consumed) bool { return int64(len(cs)) >= total })
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Partition != recs[j].Partition {
			return recs[i].Partition < recs[j].Partition
		}
		return recs[i].Offset < recs[j].Offset
	})
	d := delivered{records: recs, first: map[string]consumed{}}
	for _, c := range recs {
		if _, seen := d.first[c.Env.ID().String()]; !seen {
			d.first[c.Env.ID().String()] = c
		}
	}
	return d
}

func checkCoverage(t *testing.T, expected []expectedChange, d delivered) {
	t.Helper()
	missing := 0
	for _, e := range expected {
		if _, ok := d.first[change.ID{CommitLSN: e.commitLSN, Index: e.index}.String()]; !ok {
			if missing < 10 {
				t.Errorf("committed change %s is not in Kafka", change.ID{CommitLSN: e.commitLSN, Index: e.index}.String())
			}
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d committed changes missing from Kafka", missing, len(expected))
	}
}

// checkConfirmedNeverAhead: for every sample, each change of a transaction
// the slot had confirmed was already in Kafka below the end offsets read
// just after.
func checkConfirmedNeverAhead(t *testing.T, expected []expectedChange, d delivered, samples []sample) {
	t.Helper()
	sort.Slice(expected, func(i, j int) bool { return expected[i].commitLSN < expected[j].commitLSN })
	for _, s := range samples {
		for _, e := range expected {
			if e.commitLSN >= uint64(s.confirmed) {
				break
			}
			c := d.first[change.ID{CommitLSN: e.commitLSN, Index: e.index}.String()]
			if c.Offset >= s.ends[c.Partition] {
				t.Fatalf("confirmed_flush_lsn %s was ahead of Kafka: change %s reached partition %d at offset %d, end offset then %d",
					s.confirmed, c.Env.ID(), c.Partition, c.Offset, s.ends[c.Partition])
			}
		}
	}
}

// checkFirstDeliveryOrder: within a key, first deliveries follow commit order
// (redeliveries after a crash repeat a prefix, they never overtake).
func checkFirstDeliveryOrder(t *testing.T, d delivered) {
	t.Helper()
	last := map[string]change.Envelope{}
	seen := map[change.ID]bool{}
	for _, c := range d.records {
		id := c.Env.ID()
		if seen[id] {
			continue
		}
		seen[id] = true
		if prev, ok := last[c.Key]; ok && !idLess(prev, c.Env) {
			t.Fatalf("key %s: first delivery of %s after %s", c.Key, id, prev.ID())
		}
		last[c.Key] = c.Env
	}
}

var _ sync.Locker
