package capture

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// producer hands messages to an asynchronous kafka-go Writer and counts them
// back in from its Completion callback. Changes are acknowledged to the
// tracker only on success; the first failure breaks the transport and fails
// the tracker, so nothing after it is ever confirmed.
type producer struct {
	w         *kafka.Writer
	transport *guardedTransport
	acks      *tracker
	metrics   *Metrics

	pending      []kafka.Message
	batchSize    int
	inflight     atomic.Int64
	maxInflight  int64
	freed        chan struct{}
	shutdownWait time.Duration
}

func newProducer(cfg Config, acks *tracker, m *Metrics) *producer {
	p := &producer{
		transport:    newGuardedTransport(),
		acks:         acks,
		metrics:      m,
		batchSize:    cfg.BatchSize,
		maxInflight:  int64(cfg.MaxInflightBytes),
		freed:        make(chan struct{}, 1),
		shutdownWait: cfg.ShutdownTimeout,
	}
	p.w = &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Balancer:     kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: cfg.BatchTimeout,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   int64(max(1<<20, cfg.MaxMessageBytes+4096)),
		MaxAttempts:  5,
		Async:        true,
		Completion:   p.complete,
		Transport:    p.transport,
	}
	return p
}

// add queues a message; flush hands the queue to the writer. Its bytes count
// as in flight from now until Kafka acknowledges them.
func (p *producer) add(m kafka.Message) {
	m.WriterData.(*txn).pending.Add(1)
	p.inflight.Add(messageBytes(&m))
	p.pending = append(p.pending, m)
}

// messageBytes is what a message holds in memory until it is acknowledged:
// key and value, plus its headers and the copies of the Message struct the
// producer and the writer keep.
func messageBytes(m *kafka.Message) int64 {
	return int64(len(m.Key) + len(m.Value) + 512)
}

// full says whether the queue should be flushed now.
func (p *producer) full() bool { return len(p.pending) >= p.batchSize }

func (p *producer) hasPending() bool { return len(p.pending) > 0 }

// overBudget says whether reading must pause until Kafka catches up.
func (p *producer) overBudget() bool { return p.inflight.Load() >= p.maxInflight }

// flush hands the queued messages to the writer, which batches them per
// partition and returns at once.
func (p *producer) flush(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	err := p.w.WriteMessages(ctx, p.pending...)
	clear(p.pending)
	p.pending = p.pending[:0]
	if err != nil {
		return fmt.Errorf("handing messages to the Kafka writer: %w", err)
	}
	p.metrics.InflightBytes.Set(float64(p.inflight.Load()))
	return nil
}

// complete is the writer's Completion callback, called once per batch.
func (p *producer) complete(msgs []kafka.Message, err error) {
	var n int64
	for i := range msgs {
		n += messageBytes(&msgs[i])
	}
	p.inflight.Add(-n)
	select {
	case p.freed <- struct{}{}:
	default:
	}
	if err != nil {
		p.metrics.ProduceErrors.Inc()
		p.transport.breakWith(err)
		p.acks.fail(fmt.Errorf("producing %d messages to %s: %w", len(msgs), msgs[0].Topic, err))
		return
	}
	for i := range msgs {
		msgs[i].WriterData.(*txn).pending.Add(-1)
	}
	p.acks.advance()
}

// close waits for the writer's acknowledgements. When they take longer than
// the shutdown timeout it breaks the transport so the rest fail at once.
func (p *producer) close() {
	p.pending = p.pending[:0]
	done := make(chan struct{})
	go func() {
		_ = p.w.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(p.shutdownWait):
		p.transport.breakWith(fmt.Errorf("shutdown timeout %s", p.shutdownWait))
		<-done
	}
	p.transport.close()
	p.metrics.InflightBytes.Set(0)
}

// abort drops what is queued and stops producing what the writer still holds.
func (p *producer) abort(cause error) {
	p.transport.breakWith(cause)
	p.close()
}
