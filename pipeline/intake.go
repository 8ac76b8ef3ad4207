package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/change"
)

// intake moves messages from Kafka into the ledger: it never waits for
// Align, so one company's backlog never holds back another's changes.
// Offsets move only past messages whose operations are durably recorded (or
// that called for nothing).
type intake struct {
	s      *Sink
	reader *kafka.Reader
	dlq    *kafka.Writer
	msgs   chan kafka.Message

	mu       sync.Mutex
	recorded map[int]kafka.Message // per partition, the last message recorded and not yet committed
}

func (s *Sink) newIntake() (*intake, error) {
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: s.cfg.Brokers, GroupID: s.cfg.Group, Topic: s.cfg.Topic,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
		QueueCapacity: s.cfg.IntakeBatch, CommitInterval: 0, StartOffset: kafka.FirstOffset,
		HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second,
		ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: time.Second,
	})
	dlq := &kafka.Writer{Addr: kafka.TCP(s.cfg.Brokers...), Topic: s.cfg.DLQTopic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, AllowAutoTopicCreation: true}
	return &intake{s: s, reader: reader, dlq: dlq, msgs: make(chan kafka.Message, s.cfg.IntakeBatch),
		recorded: map[int]kafka.Message{}}, nil
}

// run records batches until ctx ends.
func (in *intake) run(ctx context.Context) error {
	go in.fetch(ctx)
	for {
		batch := in.next(ctx)
		if batch == nil {
			return nil
		}
		if !in.record(ctx, batch) {
			return nil
		}
		in.mu.Lock()
		for _, m := range batch {
			in.recorded[m.Partition] = m
		}
		in.mu.Unlock()
	}
}

// fetch feeds the intake. Its channel is the only buffer between Kafka and
// the ledger, and its consumer waits for nothing but the database.
func (in *intake) fetch(ctx context.Context) {
	for {
		m, err := in.reader.FetchMessage(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			in.s.logger.Warn("fetching from Kafka failed; retrying", slog.Any("error", err))
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		select {
		case in.msgs <- m:
		case <-ctx.Done():
			return
		}
	}
}

// next waits for a message, then takes whatever else has arrived, up to a
// batch: batches grow with the load and cost no latency when it is light.
func (in *intake) next(ctx context.Context) []kafka.Message {
	var batch []kafka.Message
	select {
	case m := <-in.msgs:
		batch = append(batch, m)
	case <-ctx.Done():
		return nil
	}
	for len(batch) < in.s.cfg.IntakeBatch {
		select {
		case m := <-in.msgs:
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// record retries a batch until the ledger has it; false when ctx ended first.
func (in *intake) record(ctx context.Context, batch []kafka.Message) bool {
	wait := in.s.cfg.RetryInterval
	for {
		_, err := in.s.intakeBatch(ctx, batch, in.deadLetter)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		in.s.logger.Warn("recording a batch of changes failed; retrying", slog.Int("messages", len(batch)),
			slog.Int64("first_offset", batch[0].Offset), slog.Duration("retry_in", wait), slog.Any("error", err))
		if !sleep(ctx, wait) {
			return false
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// deadLetter moves an undecodable message aside so the partition never
// stalls; it must be acknowledged by Kafka before the offset moves past it.
func (in *intake) deadLetter(ctx context.Context, m kafka.Message, cause error) error {
	headers := append(append([]kafka.Header{}, m.Headers...),
		kafka.Header{Key: change.HeaderError, Value: []byte(cause.Error())},
		kafka.Header{Key: change.HeaderSourcePartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: change.HeaderSourceOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))})
	if err := in.dlq.WriteMessages(ctx, kafka.Message{Key: m.Key, Value: m.Value, Headers: headers}); err != nil {
		return fmt.Errorf("writing partition %d offset %d to %s: %w", m.Partition, m.Offset, in.s.cfg.DLQTopic, err)
	}
	in.s.metrics.messages.WithLabelValues("dead_lettered").Inc()
	in.s.logger.Error("undecodable message moved to the dead-letter topic", slog.String("topic", in.s.cfg.DLQTopic),
		slog.Int("partition", m.Partition), slog.Int64("offset", m.Offset), slog.Any("cause", cause))
	return nil
}

func (in *intake) commitLoop(ctx context.Context) {
	t := time.NewTicker(in.s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			in.commit(ctx)
		}
	}
}

// commit commits, per partition, past the last recorded message.
func (in *intake) commit(ctx context.Context) {
	in.mu.Lock()
	msgs := make([]kafka.Message, 0, len(in.recorded))
	for _, m := range in.recorded {
		msgs = append(msgs, m)
	}
	clear(in.recorded)
	in.mu.Unlock()
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := in.reader.CommitMessages(ctx, msgs...); err != nil && ctx.Err() == nil {
		in.s.logger.Warn("committing offsets failed; the messages will be redelivered and recorded as duplicates",
			slog.Any("error", err))
	}
}

// close commits what was recorded before the stop and closes the clients.
func (in *intake) close() error {
	in.commit(context.Background())
	return errors.Join(in.reader.Close(), in.dlq.Close())
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
