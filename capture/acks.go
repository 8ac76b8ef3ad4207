package capture

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
)

// txn is one source transaction on its way to Kafka, or a heartbeat: a
// position with no changes of its own.
type txn struct {
	commitLSN  pglogrepl.LSN // Begin's final LSN: the commit record's position
	endLSN     pglogrepl.LSN // Commit's end LSN; what is confirmed once the txn is acked
	xid        uint32
	commitTime time.Time
	heartbeat  bool

	commitHeader []byte // commit LSN in decimal, for the Kafka header
	sourceTail   []byte // the envelope's source fields after lsn
	next         int    // index of the next change

	pending   atomic.Int64 // changes handed to Kafka and not yet acked
	committed atomic.Bool  // the Commit message was seen: no more changes will come
}

// tracker turns Kafka acknowledgements into the flush position: the end of
// the newest transaction that, with every transaction before it, Kafka has
// fully acknowledged. Completions arrive out of order across partitions; the
// queue keeps commit order.
type tracker struct {
	mu      sync.Mutex
	queue   []*txn
	flushed pglogrepl.LSN
	onAck   func(*txn)
	failed  chan struct{}
	err     error
}

func newTracker(start pglogrepl.LSN, onAck func(*txn)) *tracker {
	return &tracker{flushed: start, onAck: onAck, failed: make(chan struct{})}
}

// push adds a transaction in stream order, before any of its changes is
// produced.
func (k *tracker) push(t *txn) {
	k.mu.Lock()
	k.queue = append(k.queue, t)
	k.mu.Unlock()
}

// advance pops every fully acknowledged transaction at the head of the queue
// and moves the flush position to the last one's end.
func (k *tracker) advance() {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, t := range k.queue {
		if !t.committed.Load() || t.pending.Load() != 0 {
			break
		}
		if t.endLSN > k.flushed {
			k.flushed = t.endLSN
		}
		if k.onAck != nil {
			k.onAck(t)
		}
		n++
	}
	if n > 0 {
		clear(k.queue[:n])
		k.queue = k.queue[n:]
	}
}

// flushedLSN is the position safe to confirm to PostgreSQL.
func (k *tracker) flushedLSN() pglogrepl.LSN {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.flushed
}

// fail records the first produce failure; nothing after it is acknowledged.
func (k *tracker) fail(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err == nil {
		k.err = err
		close(k.failed)
	}
}

// failure is closed once a produce has failed.
func (k *tracker) failure() <-chan struct{} { return k.failed }

func (k *tracker) failErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}
