package pipeline

import "sync"

// offsetTracker knows, per partition, the highest offset below which every
// fetched message is finished. Messages of a partition are started in offset
// order; they may finish in any order (different companies share a
// partition), and the commit point only moves past a message once it and all
// before it are finished.
type offsetTracker struct {
	mu    sync.Mutex
	parts map[int]*partitionWindow
}

type partitionWindow struct {
	pending   []inflight // started, in offset order
	committed int64      // highest finished-with-all-before offset, -1 if none
	reported  int64      // last committed value handed out
}

type inflight struct {
	offset int64
	done   bool
}

func newOffsetTracker() *offsetTracker {
	return &offsetTracker{parts: map[int]*partitionWindow{}}
}

// Start records a fetched message as unfinished.
func (t *offsetTracker) Start(partition int, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.parts[partition]
	if w == nil {
		w = &partitionWindow{committed: -1, reported: -1}
		t.parts[partition] = w
	}
	w.pending = append(w.pending, inflight{offset: offset})
}

// Finish marks a message finished and advances the partition's commit point
// past every finished message at the head of the window.
func (t *offsetTracker) Finish(partition int, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.parts[partition]
	if w == nil {
		return
	}
	for i := range w.pending {
		if w.pending[i].offset == offset {
			w.pending[i].done = true
			break
		}
	}
	n := 0
	for n < len(w.pending) && w.pending[n].done {
		w.committed = w.pending[n].offset
		n++
	}
	w.pending = w.pending[n:]
}

// Committable returns, for each partition whose commit point moved since the
// last call, the offset of the last finished message (Kafka's committed offset
// is one past it).
func (t *offsetTracker) Committable() map[int]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int]int64{}
	for p, w := range t.parts {
		if w.committed > w.reported {
			out[p] = w.committed
			w.reported = w.committed
		}
	}
	return out
}
