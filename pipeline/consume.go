package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// envelope is the part of capture's message value the sink reads.
type envelope struct {
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
	Source struct {
		Table     string `json:"table"`
		CommitLSN uint64 `json:"commitLsn"`
		TsMs      int64  `json:"ts_ms"`
	} `json:"source"`
	Op    string `json:"op"`
	Index int    `json:"index"`
}

// decode turns a message value into a Change; numbers stay exact.
func decode(value []byte) (Change, error) {
	var e envelope
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return Change{}, fmt.Errorf("decoding change envelope: %w", err)
	}
	if e.Source.Table == "" || e.Op == "" {
		return Change{}, errors.New("decoding change envelope: source.table and op are required")
	}
	return Change{Table: e.Source.Table, Op: e.Op, Before: e.Before, After: e.After,
		CommitLSN: e.Source.CommitLSN, Index: e.Index, TsMs: e.Source.TsMs}, nil
}

// Run consumes until ctx ends, then commits what finished and returns.
func (s *Sink) Run(ctx context.Context) error {
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: s.cfg.Brokers, GroupID: s.cfg.Group, Topic: s.cfg.Topic,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
		CommitInterval: 0, StartOffset: kafka.FirstOffset,
		HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second,
		ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: time.Second,
	})
	dlq := &kafka.Writer{Addr: kafka.TCP(s.cfg.Brokers...), Topic: s.cfg.DLQTopic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, AllowAutoTopicCreation: true}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){
		func(c context.Context) { s.commitLoop(c, reader) },
		s.retryLoop,
		s.statsLoop,
	} {
		wg.Add(1)
		go func() { defer wg.Done(); f(runCtx) }()
	}
	s.setReady(nil)
	err := s.fetchLoop(runCtx, reader, dlq)
	s.setReady(errors.New("stopping"))
	cancel()
	wg.Wait()
	s.commit(context.Background(), reader) // what finished before the stop
	return errors.Join(err, reader.Close(), dlq.Close())
}

func (s *Sink) fetchLoop(ctx context.Context, reader *kafka.Reader, dlq *kafka.Writer) error {
	for {
		m, err := reader.FetchMessage(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.logger.Warn("fetching from Kafka failed; retrying", slog.Any("error", err))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		s.dispatch(ctx, m, dlq)
	}
}

func (s *Sink) dispatch(ctx context.Context, m kafka.Message, dlq *kafka.Writer) {
	s.tracker.Start(m.Partition, m.Offset)
	finish := func() { s.tracker.Finish(m.Partition, m.Offset) }
	c, err := decode(m.Value)
	if err != nil {
		s.deadLetter(ctx, dlq, m, err)
		finish()
		return
	}
	company := c.CompanyID()
	if company == "" {
		s.metrics.messages.WithLabelValues("no_company").Inc()
		finish()
		return
	}
	s.metrics.messages.WithLabelValues("dispatched").Inc()
	w := work{change: c, src: source{CommitLSN: c.CommitLSN, Index: c.Index, Partition: m.Partition,
		Offset: m.Offset, TsMs: c.TsMs}, finish: finish}
	select {
	case s.laneFor(ctx, company).queue <- w:
	case <-ctx.Done():
	}
}

// deadLetter moves an undecodable message aside so the partition never stalls.
func (s *Sink) deadLetter(ctx context.Context, dlq *kafka.Writer, m kafka.Message, cause error) {
	headers := append(append([]kafka.Header{}, m.Headers...),
		kafka.Header{Key: "error", Value: []byte(cause.Error())},
		kafka.Header{Key: "source_partition", Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: "source_offset", Value: []byte(strconv.FormatInt(m.Offset, 10))})
	err := dlq.WriteMessages(ctx, kafka.Message{Key: m.Key, Value: m.Value, Headers: headers})
	s.metrics.messages.WithLabelValues("dead_lettered").Inc()
	s.logger.Error("undecodable message moved to the dead-letter topic", slog.String("topic", s.cfg.DLQTopic),
		slog.Int("partition", m.Partition), slog.Int64("offset", m.Offset), slog.Any("cause", cause), slog.Any("error", err))
}

func (s *Sink) commitLoop(ctx context.Context, reader *kafka.Reader) {
	t := time.NewTicker(s.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.commit(ctx, reader)
		}
	}
}

// commit commits, per partition, up to the last message below which every
// message is finished.
func (s *Sink) commit(ctx context.Context, reader *kafka.Reader) {
	offsets := s.tracker.Committable()
	if len(offsets) == 0 {
		return
	}
	msgs := make([]kafka.Message, 0, len(offsets))
	for p, o := range offsets {
		msgs = append(msgs, kafka.Message{Topic: s.cfg.Topic, Partition: p, Offset: o})
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := reader.CommitMessages(ctx, msgs...); err != nil && !errors.Is(err, context.Canceled) {
		s.logger.Warn("committing offsets failed; the messages will be redelivered and skipped as done", slog.Any("error", err))
	}
}

// retryLoop wakes the lanes of companies with parked operations that are
// due, or reset by Retry Failed.
func (s *Sink) retryLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.RetryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		companies, err := s.dueCompanies(ctx)
		if err != nil && ctx.Err() == nil && !isNetClosed(err) {
			s.logger.Warn("looking for due operations failed", slog.Any("error", err))
		}
		for _, c := range companies {
			select {
			case s.laneFor(ctx, c).queue <- work{resume: true}:
			default: // the lane is busy; the next tick tries again
			}
		}
	}
}

func (s *Sink) dueCompanies(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT company_id::text FROM align_sync.outbox
		WHERE status IN ('failed', 'pending') AND next_retry_at <= now()`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func isNetClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
