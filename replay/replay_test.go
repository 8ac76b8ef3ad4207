package replay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/pipeline"
)

func TestToDatetimePicksTheFirstOffsetAtOrAfterItInEachPartition(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	produced := map[int32][]time.Duration{
		0: {1 * time.Second, 2 * time.Second, 3 * time.Second},
		1: {500 * time.Millisecond, 2500 * time.Millisecond},
		3: {1 * time.Second, 1500 * time.Millisecond},
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.env.Kafka.Brokers...), kgo.DefaultProduceTopic(testenv.CDCTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for p, offsets := range produced {
		for _, d := range offsets {
			if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Timestamp: base.Add(d), Value: []byte("{}")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	const group = "operators"
	commit := func(o map[int32]int64) {
		for p, at := range o {
			if _, err := ResetOffsets(ctx, h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic,
				Target: Target{Kind: ToOffset, Offset: at}, Partitions: []int32{p}, Execute: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit(map[int32]int64{0: 3, 1: 2, 3: 1})
	before := h.committed(group)

	at := base.Add(2 * time.Second)
	p, err := ResetOffsets(ctx, h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic, Target: Target{Kind: ToDatetime, Time: at}})
	if err != nil {
		t.Fatal(err)
	}
	want := []PartitionPlan{
		{Partition: 0, Current: 3, New: 1, Start: 0, End: 3, Redeliver: 2}, // 2 s exactly: at or after
		{Partition: 1, Current: 2, New: 1, Start: 0, End: 2, Redeliver: 1},
		{Partition: 2, Current: -1, New: 0, Start: 0, End: 0},
		{Partition: 3, Current: 1, New: 2, Start: 0, End: 2, Skip: 1}, // nothing at or after: the end
	}
	if len(p.Partitions) != len(want) {
		t.Fatalf("plan = %+v", p.Partitions)
	}
	for i := range want {
		if p.Partitions[i] != want[i] {
			t.Errorf("partition %d: plan %+v, want %+v", i, p.Partitions[i], want[i])
		}
	}
	if after := h.committed(group); len(after) != len(before) || after[0] != 3 || after[1] != 2 || after[3] != 1 || p.Executed {
		t.Fatalf("a dry run changed the offsets: %v -> %v", before, after)
	}
	var table strings.Builder
	if err := p.WriteTable(&table); err != nil || !strings.Contains(table.String(), "Dry run") ||
		!strings.Contains(table.String(), "3 message(s) to deliver again, 1 to skip") {
		t.Fatalf("table (%v):\n%s", err, table.String())
	}

	p, err = ResetOffsets(ctx, h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic,
		Target: Target{Kind: ToDatetime, Time: at}, Partitions: []int32{0}, Execute: true})
	if err != nil || !p.Executed || len(p.Partitions) != 1 {
		t.Fatalf("execute on partition 0: %+v, %v", p, err)
	}
	if after := h.committed(group); after[0] != 1 || after[1] != 2 || after[3] != 1 {
		t.Fatalf("offsets after resetting partition 0 only: %v", after)
	}

	p, err = ResetOffsets(ctx, h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic,
		Target: Target{Kind: ShiftBy, Offset: -10}, Partitions: []int32{0, 1}})
	if err != nil || p.Partitions[0].New != 0 || !p.Partitions[0].Clamped || p.Partitions[1].New != 0 {
		t.Fatalf("shift back past the start: %+v, %v", p.Partitions, err)
	}
	if _, err := ResetOffsets(ctx, h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic,
		Target: Target{Kind: ToEarliest}, Partitions: []int32{7}}); err == nil || !strings.Contains(err.Error(), "no partition 7") {
		t.Fatalf("unknown partition: %v", err)
	}
	if _, err := ResetOffsets(ctx, h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: "no.such.topic",
		Target: Target{Kind: ToEarliest}}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("unknown topic: %v", err)
	}
}

func TestResetIsRefusedWhileASinkRuns(t *testing.T) {
	h := newHarness(t)
	const group = "alignsync-sink"
	stop := h.startSink(pipeline.Config{Group: group}, nil)
	adm := h.admin()
	h.waitUntil("the sink to join its group", func() bool {
		g, err := adm.DescribeGroups(h.ctx(), group)
		return err == nil && len(g[group].Members) > 0
	})
	for _, execute := range []bool{false, true} {
		_, err := ResetOffsets(h.ctx(), h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic,
			Target: Target{Kind: ToEarliest}, Execute: execute})
		var active *ActiveGroupError
		if !errors.As(err, &active) || len(active.Members) != 1 || !strings.Contains(err.Error(), "kubectl scale deployment/alignsync-sink --replicas=0") {
			t.Fatalf("reset (execute %v) while the sink runs: %v, want refused with how to stop it", execute, err)
		}
	}
	stop()
	h.waitUntil("the reset to be allowed once the sink has left", func() bool {
		_, err := ResetOffsets(h.ctx(), h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic,
			Target: Target{Kind: ToEarliest}, Execute: true})
		return err == nil
	})
}

func TestResetToEarliestAfterAFullSyncCreatesNothingInAlign(t *testing.T) {
	h := newHarness(t)
	const group = "alignsync-sink"
	company, org := h.connect("Initech")
	f := h.seed(company, 2)
	stop := h.startSink(pipeline.Config{Group: group}, nil)
	h.emitProject(f)
	h.emitEntry(f, 0)
	h.emitEntry(f, 1)
	h.waitConsumed(group)
	h.waitUntil("the full sync", func() bool { o := h.outbox(company); return o["done"] == 8 && len(o) == 1 })
	stop()
	before := h.alignState(org)

	p, err := ResetOffsets(h.ctx(), h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic,
		Target: Target{Kind: ToEarliest}, Execute: true})
	var redeliver int64
	for _, pp := range p.Partitions {
		redeliver += pp.Redeliver
	}
	if err != nil || !p.Executed || redeliver != 4 {
		t.Fatalf("reset to earliest: %+v (%v), want the 4 messages to be delivered again", p, err)
	}

	reg := prometheus.NewRegistry()
	h.startSink(pipeline.Config{Group: group}, reg)
	h.waitConsumed(group)
	after := h.alignState(org)
	if counts(after) != counts(before) {
		t.Fatalf("the replay changed Align: before %s, after %s", counts(before), counts(after))
	}
	if o := h.outbox(company); o["done"] != 8 || len(o) != 1 {
		t.Fatalf("outbox after the replay = %v, want the same 8 done operations", o)
	}
	if n, err := testutil.GatherAndCount(reg, "alignsync_align_requests_total"); err != nil || n != 0 {
		t.Fatalf("the replay made Align requests on %d routes (%v), want none", n, err)
	}
}

// badDeploy syncs two companies' projects and first entries with a good sink,
// then runs a sink that skips time_entries while two more entries of each
// company arrive. It returns the time the bad deploy started.
func badDeploy(h *harness, group string) (a, b fixture, since time.Time) {
	h.t.Helper()
	companyA, _ := h.connect("Alpha")
	companyB, _ := h.connect("Beta")
	a, b = h.seed(companyA, 3), h.seed(companyB, 3)
	good := h.startSink(pipeline.Config{Group: group}, nil)
	for _, f := range []fixture{a, b} {
		h.emitProject(f)
		h.emitEntry(f, 0)
	}
	h.waitConsumed(group)
	for _, f := range []fixture{a, b} {
		h.waitUntil("the good deploy's work", func() bool { o := h.outbox(f.company); return o["done"] == 6 && len(o) == 1 })
	}
	good()

	since = h.mark()
	bad := h.startSink(pipeline.Config{Group: group, SkipTables: []string{"time_entries"}}, nil)
	for _, f := range []fixture{a, b} {
		h.emitEntry(f, 1)
		h.emitEntry(f, 2)
	}
	h.waitConsumed(group)
	bad()
	return a, b, since
}

func TestRecoveryFromABadDeployByReplayingOneCompany(t *testing.T) {
	h := newHarness(t)
	a, b, since := badDeploy(h, "alignsync-sink")
	orgA, orgB := h.orgOf(a.company), h.orgOf(b.company)
	if n := len(h.alignState(orgA).TimeEntries); n != 1 {
		t.Fatalf("the bad deploy left %d entries in Align for A, want 1", n)
	}
	beforeB, outboxB := h.alignState(orgB), h.outbox(b.company)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	full := h.newSink(pipeline.Config{}, nil)
	var out strings.Builder
	res, err := ReplayCompany(ctx, h.env.Kafka.Brokers, full, CompanyOptions{Topic: testenv.CDCTopic, CompanyID: a.company, From: since, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 4 || res.Matched != 2 || res.Outcomes["done"] != 4 || res.Outcomes["duplicate"] != 0 || res.Skipped != 0 {
		t.Fatalf("replay = %+v, want A's 2 entries of the 4 messages since the bad deploy created and submitted\n%s", res, out.String())
	}
	if !strings.Contains(out.String(), "time_entry.create "+a.entries[1]+" done now") {
		t.Fatalf("output does not say what was done:\n%s", out.String())
	}
	st := h.alignState(orgA)
	byExt := entriesByExternalID(st)
	for _, id := range a.entries {
		if byExt[id] != 1 {
			t.Fatalf("A's entry %s is in Align %d times, want once (entries %v)", id, byExt[id], byExt)
		}
	}
	for _, e := range st.TimeEntries {
		if e.Status != "submitted" {
			t.Fatalf("A's entry %s is %s, want submitted", e.ID, e.Status)
		}
	}
	if afterB := h.alignState(orgB); counts(afterB) != counts(beforeB) || len(afterB.TimeEntries) != 1 {
		t.Fatalf("B changed: %s -> %s", counts(beforeB), counts(afterB))
	}
	if o := h.outbox(b.company); o["done"] != outboxB["done"] || len(o) != len(outboxB) {
		t.Fatalf("B's outbox changed: %v -> %v", outboxB, o)
	}

	// Replaying again does nothing new, and says so.
	out.Reset()
	res, err = ReplayCompany(ctx, h.env.Kafka.Brokers, full, CompanyOptions{Topic: testenv.CDCTopic, CompanyID: a.company, From: since, Out: &out})
	if err != nil || res.Outcomes["done"] != 0 || res.Outcomes["duplicate"] != 4 || !strings.Contains(out.String(), "already done") {
		t.Fatalf("second replay = %+v (%v)\n%s", res, err, out.String())
	}
	if n := len(h.alignState(orgA).TimeEntries); n != 3 {
		t.Fatalf("A has %d entries after the second replay, want 3", n)
	}
}

func TestRecoveryFromABadDeployByResettingTheGroup(t *testing.T) {
	h := newHarness(t)
	const group = "alignsync-sink"
	a, b, since := badDeploy(h, group)

	p, err := ResetOffsets(h.ctx(), h.env.Kafka.Brokers, ResetOptions{Group: group, Topic: testenv.CDCTopic,
		Target: Target{Kind: ToDatetime, Time: since}, Execute: true})
	var redeliver int64
	for _, pp := range p.Partitions {
		redeliver += pp.Redeliver
	}
	if err != nil || redeliver != 4 {
		t.Fatalf("reset to the bad deploy: %+v (%v), want its 4 messages delivered again", p, err)
	}
	h.startSink(pipeline.Config{Group: group}, nil)
	h.waitConsumed(group)
	for _, f := range []fixture{a, b} {
		h.waitUntil("every entry synced", func() bool { o := h.outbox(f.company); return o["done"] == 10 && len(o) == 1 })
		st := h.alignState(h.orgOf(f.company))
		byExt := entriesByExternalID(st)
		if len(st.TimeEntries) != 3 || len(st.Projects) != 1 || len(st.Members) != 1 {
			t.Fatalf("company %s after the reset: %s", f.company, counts(st))
		}
		for _, id := range f.entries {
			if byExt[id] != 1 {
				t.Fatalf("entry %s is in Align %d times, want once", id, byExt[id])
			}
		}
	}
}
