package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/illumera/alignsync/pipeline"
)

// Applier runs one message through the sink's code (*pipeline.Sink).
type Applier interface {
	Apply(ctx context.Context, m kafka.Message) (pipeline.Applied, error)
}

var _ Applier = (*pipeline.Sink)(nil)

// CompanyOptions choose a company replay.
type CompanyOptions struct {
	Topic     string
	CompanyID string
	From      time.Time
	To        time.Time // zero: the end of each partition when the replay starts
	Out       io.Writer // each operation as it is applied; nil: nothing
}

// Range is the offsets read from one partition: [From, To).
type Range struct {
	Partition int32 `json:"partition"`
	From      int64 `json:"from"`
	To        int64 `json:"to"`
}

// CompanyResult counts what a company replay did.
type CompanyResult struct {
	CompanyID string  `json:"companyId"`
	Ranges    []Range `json:"ranges"`
	Read      int     `json:"messagesRead"`
	Matched   int     `json:"companyMessages"`
	// Skipped are company messages that called for nothing: a skipped table,
	// no connection, or history from before the connection.
	Skipped int `json:"skippedMessages"`
	// Outcomes counts operations by result: done (now), duplicate (already
	// done), waiting, parked, failed, retry_later.
	Outcomes map[string]int `json:"operations"`
}

// ReplayCompany reads [From, To) of every partition (a company's messages all
// sit in the partition its key hashes to, but reading them all needs no
// knowledge of the producer's partitioner), keeps the company's messages and
// applies them in offset order per partition. It never joins or commits for a
// consumer group, so running sinks are undisturbed; the company's lane lock
// keeps it from running beside them.
func ReplayCompany(ctx context.Context, brokers []string, a Applier, opts CompanyOptions) (CompanyResult, error) {
	res := CompanyResult{CompanyID: opts.CompanyID, Outcomes: map[string]int{}}
	ranges, err := companyRanges(ctx, brokers, opts)
	if err != nil {
		return res, err
	}
	res.Ranges = ranges
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	for _, r := range ranges {
		fmt.Fprintf(out, "partition %d: offsets %d to %d (%d messages)\n", r.Partition, r.From, r.To, r.To-r.From)
	}
	return res, consume(ctx, brokers, opts.Topic, ranges, func(m kafka.Message) error {
		res.Read++
		if !strings.EqualFold(string(m.Key), opts.CompanyID) {
			return nil
		}
		res.Matched++
		applied, err := a.Apply(ctx, m)
		if err != nil {
			return fmt.Errorf("applying partition %d offset %d: %w", m.Partition, m.Offset, err)
		}
		if applied.Skipped || len(applied.Outcomes) == 0 {
			res.Skipped++
			return nil
		}
		for _, o := range applied.Outcomes {
			res.Outcomes[o.Result]++
			fmt.Fprintf(out, "partition %d offset %d %s: %s %s %s\n", m.Partition, m.Offset, applied.Table, o.Kind, o.EntityID, describe(o.Result))
		}
		return nil
	})
}

// describe words an operation's result for the operator.
func describe(result string) string {
	switch result {
	case "done":
		return "done now"
	case "duplicate":
		return "already done"
	case "waiting":
		return "waiting behind a parked operation"
	case "parked", "failed":
		return result + " (see the outbox; Retry Failed once fixed)"
	case "retry_later":
		return "failed, retried later by the running sinks"
	}
	return result
}

// WriteSummary writes the totals of a company replay.
func (r CompanyResult) WriteSummary(w io.Writer) error {
	_, err := fmt.Fprintf(w, "company %s: %d message(s) read, %d of the company's; operations: %d done now, %d already done, "+
		"%d waiting, %d parked or failed, %d to retry; %d message(s) called for nothing (skipped table, no connection, or before it)\n",
		r.CompanyID, r.Read, r.Matched, r.Outcomes["done"], r.Outcomes["duplicate"], r.Outcomes["waiting"],
		r.Outcomes["parked"]+r.Outcomes["failed"], r.Outcomes["retry_later"], r.Skipped)
	return err
}

// companyRanges turns the time range into offsets per partition.
func companyRanges(ctx context.Context, brokers []string, opts CompanyOptions) ([]Range, error) {
	adm, closeAdm, err := newAdmin(brokers)
	if err != nil {
		return nil, err
	}
	defer closeAdm()
	from, err := listed(ctx, opts.Topic, "time", func() (kadm.ListedOffsets, error) {
		return adm.ListOffsetsAfterMilli(ctx, ceilMilli(opts.From), opts.Topic)
	})
	if err != nil {
		return nil, err
	}
	to, err := listed(ctx, opts.Topic, "end", func() (kadm.ListedOffsets, error) {
		if opts.To.IsZero() {
			return adm.ListEndOffsets(ctx, opts.Topic)
		}
		return adm.ListOffsetsAfterMilli(ctx, ceilMilli(opts.To), opts.Topic)
	})
	if err != nil {
		return nil, err
	}
	var out []Range
	for _, p := range sortedKeys(from) {
		r := Range{Partition: p, From: from[p].Offset, To: to[p].Offset}
		r.To = max(r.To, r.From)
		out = append(out, r)
	}
	return out, nil
}

// consume reads each range once, in offset order per partition, and calls
// apply for every message; it stops at the first error. Capture produces
// without transactions, so the offsets of a range are contiguous.
func consume(ctx context.Context, brokers []string, topic string, ranges []Range, apply func(kafka.Message) error) error {
	start := map[int32]kgo.Offset{}
	end := map[int32]int64{}
	for _, r := range ranges {
		if r.From < r.To {
			start[r.Partition] = kgo.NewOffset().At(r.From)
			end[r.Partition] = r.To
		}
	}
	if len(start) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.FetchMaxWait(500*time.Millisecond),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}))
	if err != nil {
		return fmt.Errorf("creating Kafka client: %w", err)
	}
	defer cl.Close()
	for len(end) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, fe := range fetches.Errors() {
			if !kerr.IsRetriable(fe.Err) && !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("reading %s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		var applyErr error
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, rec := range p.Records {
				stop, ok := end[rec.Partition]
				if applyErr != nil || !ok || rec.Offset >= stop {
					continue
				}
				if applyErr = apply(message(rec)); applyErr != nil {
					return
				}
				if rec.Offset+1 >= stop {
					delete(end, rec.Partition)
					cl.PauseFetchPartitions(map[string][]int32{topic: {rec.Partition}})
				}
			}
		})
		if applyErr != nil {
			return applyErr
		}
	}
	return nil
}

// message is a record as the sink's code takes it.
func message(r *kgo.Record) kafka.Message {
	m := kafka.Message{Topic: r.Topic, Partition: int(r.Partition), Offset: r.Offset, Key: r.Key, Value: r.Value, Time: r.Timestamp}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
	}
	return m
}
