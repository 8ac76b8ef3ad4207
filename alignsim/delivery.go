package alignsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// deliveryTimeout bounds each attempt (align-contract.md §8).
const deliveryTimeout = 10 * time.Second

// maxReorderHold is how long reorderWebhooks may hold a delivery.
const maxReorderHold = 2 * time.Second

// deliveryPlan is decided once, under the lock, when a delivery is
// scheduled: faults are drawn once per delivery and the retry schedule in
// force at that moment applies to it.
type deliveryPlan struct {
	target    string
	key       []byte
	hold      time.Duration
	duplicate bool
	retries   []time.Duration
}

// schedule starts d's delivery goroutine, or records it as dropped.
func (s *Server) schedule(wh *webhook, d *delivery) {
	f := s.faults
	if s.closed || (f.DropWebhooks > 0 && s.rng.Float64() < f.DropWebhooks) {
		d.state = DeliveryDropped
		return
	}
	plan := deliveryPlan{target: wh.url, key: wh.key}
	plan.duplicate = f.DuplicateWebhooks > 0 && s.rng.Float64() < f.DuplicateWebhooks
	if f.ReorderWebhooks {
		plan.hold = time.Duration(s.rng.Int64N(int64(maxReorderHold) + 1))
	}
	for _, ms := range s.retryDelays {
		plan.retries = append(plan.retries, time.Duration(ms)*time.Millisecond)
	}
	d.duplicated = plan.duplicate
	ctx, cancel := context.WithCancel(s.deliveryCtx)
	d.cancel = cancel
	s.wg.Add(1)
	go s.deliver(ctx, d, plan)
}

// deliver runs without the lock: it waits, sends, and records each attempt
// until one succeeds, the schedule runs out or the delivery is cancelled
// (webhook deleted, reset, Close).
func (s *Server) deliver(ctx context.Context, d *delivery, plan deliveryPlan) {
	defer s.wg.Done()
	defer d.cancel()
	wait := plan.hold
	for attempt := 0; ; attempt++ {
		if !sleep(ctx, wait) {
			return
		}
		copies := 1
		if attempt == 0 && plan.duplicate {
			copies = 2
		}
		status, err := s.sendCopies(ctx, d, plan, copies)
		if ctx.Err() != nil {
			return
		}
		last := attempt >= len(plan.retries)
		if s.record(d, copies, status, err, last) {
			return
		}
		wait = plan.retries[attempt]
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sendCopies sends the same delivery copies times at once; the attempt
// succeeds when any copy does.
func (s *Server) sendCopies(ctx context.Context, d *delivery, plan deliveryPlan, copies int) (int, error) {
	if copies == 1 {
		return s.send(ctx, d, plan)
	}
	type result struct {
		status int
		err    error
	}
	results := make([]result, copies)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			st, err := s.send(ctx, d, plan)
			results[i] = result{st, err}
		})
	}
	wg.Wait()
	best := results[0]
	for _, r := range results[1:] {
		if r.err == nil && success(r.status) {
			best = r
		}
	}
	return best.status, best.err
}

func success(status int) bool { return status >= 200 && status < 300 }

// send makes one signed POST. Each one is signed afresh with its own
// timestamp and the delivery's id (Standard Webhooks).
func (s *Server) send(ctx context.Context, d *delivery, plan deliveryPlan) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, plan.target, bytes.NewReader(d.payload))
	if err != nil {
		return 0, fmt.Errorf("building request: %w", err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "alignsim")
	req.Header.Set("webhook-id", d.id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", signature(plan.key, d.id, ts, d.payload))
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting delivery: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return resp.StatusCode, nil
}

// signature is "v1," + base64(HMAC-SHA256(key, id.timestamp.body)).
func signature(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// record stores an attempt's outcome and reports whether the delivery is
// finished.
func (s *Server) record(d *delivery, copies, status int, err error, last bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.state != DeliveryPending { // dropped meanwhile
		return true
	}
	d.attempts += copies
	d.lastStatus, d.lastError = status, ""
	if err != nil {
		d.lastError = err.Error()
	}
	switch {
	case err == nil && success(status):
		d.state = DeliveryDelivered
	case last:
		d.state = DeliveryFailed
		s.log.Warn("webhook delivery abandoned", "deliveryId", d.id, "webhookId", d.webhookID,
			"eventName", d.eventName, "attempts", d.attempts, "lastStatus", status, "lastError", d.lastError)
	default:
		return false
	}
	return true
}

// dropPending drops the pending deliveries of a deleted webhook. Runs under
// the lock.
func (s *Server) dropPending(o *org, webhookID string) {
	for _, d := range o.deliveries {
		if d.webhookID == webhookID && d.state == DeliveryPending {
			d.state = DeliveryDropped
			if d.cancel != nil {
				d.cancel()
			}
		}
	}
}
