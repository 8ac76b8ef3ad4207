package capture

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// guardedTransport stops every request to Kafka once a produce has failed.
// kafka-go goes on writing a partition's later batches after one fails; a
// session ends at the first failure and the next one resends from the
// confirmed position, so letting later batches through could put a change
// on its partition ahead of an earlier one that is not there yet.
//
// It also keeps topic metadata for a second: kafka-go's Writer asks for the
// partition count of every message it is given.
type guardedTransport struct {
	next   *kafka.Transport
	broken atomic.Pointer[error]

	mu   sync.Mutex
	meta map[string]cachedMetadata
}

type cachedMetadata struct {
	res *metadata.Response
	at  time.Time
}

const metadataTTL = time.Second

var _ kafka.RoundTripper = (*guardedTransport)(nil)

func newGuardedTransport() *guardedTransport {
	return &guardedTransport{next: &kafka.Transport{ClientID: "alignsync-capture"}, meta: map[string]cachedMetadata{}}
}

func (g *guardedTransport) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	if err := g.broken.Load(); err != nil {
		return nil, *err
	}
	m, ok := req.(*metadata.Request)
	if !ok || len(m.TopicNames) != 1 {
		return g.next.RoundTrip(ctx, addr, req)
	}
	topic := m.TopicNames[0]
	g.mu.Lock()
	c, hit := g.meta[topic]
	g.mu.Unlock()
	if hit && time.Since(c.at) < metadataTTL {
		return c.res, nil
	}
	res, err := g.next.RoundTrip(ctx, addr, req)
	if r, ok := res.(*metadata.Response); ok && err == nil && len(r.Topics) == 1 && r.Topics[0].ErrorCode == 0 {
		g.mu.Lock()
		g.meta[topic] = cachedMetadata{res: r, at: time.Now()}
		g.mu.Unlock()
	}
	return res, err
}

// breakWith makes every later request fail with a permanent error, so
// kafka-go neither retries nor writes what is queued.
func (g *guardedTransport) breakWith(cause error) {
	err := fmt.Errorf("not producing after an earlier failure: %w", errors.New(cause.Error()))
	g.broken.CompareAndSwap(nil, &err)
}

func (g *guardedTransport) close() { g.next.CloseIdleConnections() }
