package align

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

const testKey = "ako_testkey0123456789abcdefghijklmnopWXYZ"

// recorded is one request the fake server saw.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// reply is what the fake server answers; Abort drops the connection without a response.
type reply struct {
	Status int
	Header map[string]string
	Body   string
	Abort  bool
}

// fakeAlign is a loopback server answering attempt n (0-based) with respond(n, request).
type fakeAlign struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newFake(t *testing.T, respond func(n int, r *http.Request) reply) *fakeAlign {
	t.Helper()
	f := &fakeAlign{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
		f.mu.Unlock()
		rep := respond(n, r)
		if rep.Abort {
			panic(http.ErrAbortHandler)
		}
		for k, v := range rep.Header {
			w.Header().Set(k, v)
		}
		if rep.Body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(rep.Status)
		_, _ = io.WriteString(w, rep.Body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAlign) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// newTestClient returns a client of f with fast backoff; mod adjusts the config.
func newTestClient(t *testing.T, f *fakeAlign, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL:      f.URL + "/api/v1",
		APIKey:       testKey,
		RetryInitial: time.Millisecond,
		RetryMax:     2 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func apiErrBody(code, msg string) string {
	return `{"error":{"code":"` + code + `","message":"` + msg + `","reason":null}}`
}

const projectJSON = `{"id":"11111111-1111-1111-1111-111111111111","name":"P","description":null,` +
	`"status":"active","timeBillingEnabled":false,"createdAt":"2026-11-26T10:00:00.000Z","updatedAt":"2026-11-26T10:00:00.000Z"}`
