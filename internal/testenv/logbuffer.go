package testenv

import (
	"bytes"
	"sync"
)

// LogBuffer collects what a logger or a subprocess writes, safe for
// concurrent writes, so a test can search it (for leaked secrets, say).
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
