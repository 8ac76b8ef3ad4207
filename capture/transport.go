package capture

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/segmentio/kafka-go"
)

// guardedTransport stops every request to Kafka once a produce has failed.
// kafka-go goes on writing a partition's later batches after one fails; a
// session ends at the first failure and the next one resends from the
// confirmed position, so letting later batches through could put a change
// on its partition ahead of an earlier one that is not there yet.
type guardedTransport struct {
	next   *kafka.Transport
	broken atomic.Pointer[error]
}

var _ kafka.RoundTripper = (*guardedTransport)(nil)

func newGuardedTransport() *guardedTransport {
	return &guardedTransport{next: &kafka.Transport{ClientID: "alignsync-capture"}}
}

func (g *guardedTransport) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	if err := g.broken.Load(); err != nil {
		return nil, *err
	}
	return g.next.RoundTrip(ctx, addr, req)
}

// breakWith makes every later request fail with a permanent error, so
// kafka-go neither retries nor writes what is queued.
func (g *guardedTransport) breakWith(cause error) {
	err := fmt.Errorf("not producing after an earlier failure: %w", errors.New(cause.Error()))
	g.broken.CompareAndSwap(nil, &err)
}

func (g *guardedTransport) close() { g.next.CloseIdleConnections() }
