package alignsim

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentUse hammers one simulator from many goroutines; run with
// -race it checks the locking, and the totals check nothing was lost.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	rcv := newReceiver(t, always(200))
	f.webhook(rcv.srv.URL, "time.submitted")
	e.setFaults(Faults{RateLimitPerMinute: Ptr(10_000)})
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				res := f.api.do("POST", "/integration/time-entries", f.entryBody(id, 30))
				if res.status != 201 {
					t.Errorf("create %s: %d %s", id, res.status, res.body)
					return
				}
				var en entryView
				res.decode(t, &en)
				if res := f.api.do("PATCH", "/time-entries/"+en.ID, `{"status":"submitted"}`); res.status != 200 {
					t.Errorf("submit %s: %d", id, res.status)
				}
				f.api.do("GET", "/time-entries?status=submitted", nil)
			}
		})
	}
	wg.Wait()
	var list page[entryView]
	f.api.must(200, "GET", "/time-entries?status=submitted&pageSize=1", nil, &list)
	if list.Total != workers*perWorker {
		t.Errorf("%d submitted entries, want %d", list.Total, workers*perWorker)
	}
	waitFor(t, "every delivery", func() bool { return rcv.count() == workers*perWorker })
}

// BenchmarkCreateEntries measures creates over loopback HTTP, the
// simulator's hot path; with -cpu 2 it should stay well above 1,000/s.
func BenchmarkCreateEntries(b *testing.B) {
	e := newEnv(b)
	f := e.fixture(true)
	e.setFaults(Faults{RateLimitPerMinute: Ptr(1 << 30)})
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := strconv.FormatInt(n.Add(1), 10)
			if res := f.api.do("POST", "/integration/time-entries", f.entryBody(id, 30)); res.status != 201 {
				b.Errorf("create: %d %s", res.status, res.body)
				return
			}
		}
	})
}
