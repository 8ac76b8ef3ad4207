package alignsim

import (
	"sync"
	"time"
)

// fakeClock replaces Server.clock so that tests can move time forward.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// useClock makes s read time from c; under the lock, like every reader.
func (s *Server) useClock(c *fakeClock) {
	s.mu.Lock()
	s.clock = c.Now
	s.mu.Unlock()
}
