package alignsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"time"
)

// idempotencyTTL is how long a POST's response is replayed (align-contract.md §1).
const idempotencyTTL = 24 * time.Hour

// idemKey: the cache is per API key + method + path + Idempotency-Key.
type idemKey struct {
	apiKeyID string
	method   string
	path     string
	key      string
}

type idemEntry struct {
	request []byte
	resp    response
	expires time.Time
}

// idemCache keeps responses in insertion order, which is also expiry order
// since the TTL is constant, so expiring is a walk from the front.
type idemCache struct {
	entries map[idemKey]*idemEntry
	order   []idemKey
}

func newIdemCache() *idemCache {
	return &idemCache{entries: map[idemKey]*idemEntry{}}
}

// lookup returns the cached response for k, or a 422 when k was used with
// a different body.
func (c *idemCache) lookup(k idemKey, body []byte, now time.Time) (response, bool, error) {
	c.expire(now)
	e := c.entries[k]
	if e == nil {
		return response{}, false, nil
	}
	if !sameJSON(e.request, body) {
		return response{}, false, newError(http.StatusUnprocessableEntity, codeIdempotencyMismatch,
			"Idempotency-Key %q was already used with a different body", k.key)
	}
	return e.resp.clone(), true, nil
}

// store caches every response below 500 except 429 (align-contract.md §1).
func (c *idemCache) store(k idemKey, body []byte, resp response, now time.Time) {
	if resp.status >= 500 || resp.status == http.StatusTooManyRequests {
		return
	}
	c.entries[k] = &idemEntry{request: body, resp: resp.clone(), expires: now.Add(idempotencyTTL)}
	c.order = append(c.order, k)
}

func (c *idemCache) expire(now time.Time) {
	for len(c.order) > 0 {
		k := c.order[0]
		if e := c.entries[k]; e != nil {
			if now.Before(e.expires) {
				return
			}
			delete(c.entries, k)
		}
		c.order = c.order[1:]
	}
}

// sameJSON compares bodies as parsed JSON, so key order and whitespace do
// not matter; bodies that do not parse are compared byte for byte.
func sameJSON(a, b []byte) bool {
	var va, vb any
	errA := json.Unmarshal(a, &va)
	errB := json.Unmarshal(b, &vb)
	if errA != nil || errB != nil {
		return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
	}
	return reflect.DeepEqual(va, vb)
}
