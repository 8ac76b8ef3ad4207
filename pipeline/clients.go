package pipeline

import (
	"sync"
	"time"

	"github.com/illumera/alignsync/sinks/align"
)

// clientCache keeps the Align clients of companies run recently, so that a
// company leased again and again (steady traffic) does not read and decrypt
// its key at every lease. A key is trusted for keyTTL: after a reconnect
// with a new key the old client is used at most that long, and a refused key
// is read again at once anyway (call). Its size follows the companies with
// work in flight: entries not used for a minute are dropped.
type clientCache struct {
	mu sync.Mutex
	m  map[string]cachedClient
}

type cachedClient struct {
	key      string
	client   *align.Client
	loaded   time.Time
	lastUsed time.Time
}

const keyTTL = 5 * time.Second

func newClientCache() *clientCache { return &clientCache{m: map[string]cachedClient{}} }

// get returns the company's client when its key was read within keyTTL.
func (c *clientCache) get(company string) (*align.Client, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc, ok := c.m[company]
	if !ok || time.Since(cc.loaded) > keyTTL {
		return nil, "", false
	}
	cc.lastUsed = time.Now()
	c.m[company] = cc
	return cc.client, cc.key, true
}

// build records key as just read, reusing the client when the key did not
// change.
func (c *clientCache) build(company, key string, newClient func(string) (*align.Client, error)) (*align.Client, error) {
	c.mu.Lock()
	cc, ok := c.m[company]
	c.mu.Unlock()
	if !ok || cc.key != key {
		client, err := newClient(key)
		if err != nil {
			return nil, err
		}
		cc = cachedClient{key: key, client: client}
	}
	cc.loaded, cc.lastUsed = time.Now(), time.Now()
	c.mu.Lock()
	c.m[company] = cc
	c.mu.Unlock()
	return cc.client, nil
}

// prune drops the clients not used for idle.
func (c *clientCache) prune(idle time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for company, cc := range c.m {
		if time.Since(cc.lastUsed) > idle {
			delete(c.m, company)
		}
	}
}
