package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// StopHint tells an operator how to empty the sink's consumer group.
const StopHint = "stop the sink instances (kubectl scale deployment/alignsync-sink --replicas=0) and retry"

// ActiveGroupError refuses a reset while the group has members: they would
// overwrite the new offsets with their own at their next commit.
type ActiveGroupError struct {
	Group   string
	State   string
	Members []string // client id @ host
}

func (e *ActiveGroupError) Error() string {
	return fmt.Sprintf("consumer group %s is %s with %d active member(s) (%s); offsets can only be reset while the group is empty: %s",
		e.Group, e.State, len(e.Members), strings.Join(e.Members, ", "), StopHint)
}

// ResetOptions choose a reset.
type ResetOptions struct {
	Group      string
	Topic      string
	Target     Target
	Partitions []int32 // empty: every partition of the topic
	Execute    bool    // false: a dry run
}

// Plan is a reset, planned or done.
type Plan struct {
	Group      string          `json:"group"`
	Topic      string          `json:"topic"`
	Target     string          `json:"target"`
	Executed   bool            `json:"executed"`
	Partitions []PartitionPlan `json:"partitions"`
}

// ResetOffsets plans the reset and, with Execute, commits it. It refuses
// (*ActiveGroupError) while the group has active members, dry run or not, as
// kafka-consumer-groups does: the current offsets of a running group are
// moving, and a plan against them would mislead.
func ResetOffsets(ctx context.Context, brokers []string, opts ResetOptions) (Plan, error) {
	adm, closeAdm, err := newAdmin(brokers)
	if err != nil {
		return Plan{}, err
	}
	defer closeAdm()
	if err := checkInactive(ctx, adm, opts.Group); err != nil {
		return Plan{}, err
	}
	states, err := partitionStates(ctx, adm, opts.Group, opts.Topic, opts.Target, opts.Partitions)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Group: opts.Group, Topic: opts.Topic, Target: opts.Target.String(), Partitions: []PartitionPlan{}}
	for _, part := range sortedKeys(states) {
		p.Partitions = append(p.Partitions, plan(part, opts.Target, states[part]))
	}
	if !opts.Execute {
		return p, nil
	}
	offsets := kadm.Offsets{}
	for _, pp := range p.Partitions {
		offsets.Add(kadm.Offset{Topic: opts.Topic, Partition: pp.Partition, At: pp.New, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(ctx, opts.Group, offsets)
	if err == nil {
		err = resp.Error()
	}
	if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.RebalanceInProgress) {
		return p, fmt.Errorf("committing offsets of group %s: a consumer joined the group meanwhile (%w); %s", opts.Group, err, StopHint)
	}
	if err != nil {
		return p, fmt.Errorf("committing offsets of group %s: %w", opts.Group, err)
	}
	p.Executed = true
	return p, nil
}

func newAdmin(brokers []string) (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, nil, fmt.Errorf("creating Kafka client: %w", err)
	}
	return kadm.NewClient(cl), cl.Close, nil
}

// checkInactive fails when the group has members or is rebalancing.
func checkInactive(ctx context.Context, adm *kadm.Client, group string) error {
	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describing consumer group %s: %w", group, err)
	}
	g, ok := groups[group]
	if !ok || errors.Is(g.Err, kerr.GroupIDNotFound) {
		return nil // never used: nothing to disturb
	}
	if g.Err != nil {
		return fmt.Errorf("describing consumer group %s: %w", group, g.Err)
	}
	if len(g.Members) == 0 && (g.State == "Empty" || g.State == "Dead" || g.State == "") {
		return nil
	}
	e := &ActiveGroupError{Group: group, State: g.State}
	for _, m := range g.Members {
		e.Members = append(e.Members, m.ClientID+"@"+strings.TrimPrefix(m.ClientHost, "/"))
	}
	return e
}

// partitionStates reads, per partition asked for, the log range, the
// group's committed offset and, for ToDatetime, the offset at the time.
func partitionStates(ctx context.Context, adm *kadm.Client, group, topic string, t Target, only []int32) (map[int32]partitionState, error) {
	starts, err := listed(ctx, topic, "start", func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctx, topic) })
	if err != nil {
		return nil, err
	}
	ends, err := listed(ctx, topic, "end", func() (kadm.ListedOffsets, error) { return adm.ListEndOffsets(ctx, topic) })
	if err != nil {
		return nil, err
	}
	var atTime map[int32]kadm.ListedOffset
	if t.Kind == ToDatetime {
		atTime, err = listed(ctx, topic, "time", func() (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, ceilMilli(t.Time), topic)
		})
		if err != nil {
			return nil, err
		}
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, group, topic)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("fetching committed offsets of group %s: %w", group, err)
	}
	parts := sortedKeys(starts)
	if len(only) > 0 {
		for _, p := range only {
			if _, ok := starts[p]; !ok {
				return nil, fmt.Errorf("topic %s has no partition %d (it has %d: 0-%d)", topic, p, len(parts), len(parts)-1)
			}
		}
		parts = only
	}
	out := make(map[int32]partitionState, len(parts))
	for _, p := range parts {
		s := partitionState{Start: starts[p].Offset, End: ends[p].Offset, Committed: -1, AtTime: -1}
		if o, ok := committed.Lookup(topic, p); ok && o.Err == nil && o.At >= 0 {
			s.Committed = o.At
		}
		if a, ok := atTime[p]; ok {
			s.AtTime = a.Offset
		}
		out[p] = s
	}
	return out, nil
}

// listed runs one offsets listing and checks the topic and every partition.
func listed(ctx context.Context, topic, what string, list func() (kadm.ListedOffsets, error)) (map[int32]kadm.ListedOffset, error) {
	res, err := list()
	if err != nil {
		return nil, fmt.Errorf("listing %s offsets of %s: %w", what, topic, err)
	}
	parts := res[topic]
	if o, ok := parts[-1]; ok || len(parts) == 0 {
		return nil, fmt.Errorf("topic %s does not exist (%v)", topic, o.Err)
	}
	for p, o := range parts {
		if o.Err != nil {
			return nil, fmt.Errorf("listing %s offset of %s partition %d: %w", what, topic, p, o.Err)
		}
	}
	return parts, ctx.Err()
}

// ceilMilli is t in Unix milliseconds, rounded up: Kafka timestamps are
// milliseconds, and "at or after t" must not take in the millisecond before.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

func sortedKeys[V any](m map[int32]V) []int32 {
	keys := make([]int32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
