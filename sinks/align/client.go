package align

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/time/rate"
)

// maxResponseBytes bounds what the client reads of one response body.
const maxResponseBytes = 16 << 20

// Client calls the Align API with one API key. It is safe for concurrent use.
type Client struct {
	base          string
	apiKey        string
	http          *http.Client
	limiter       *rate.Limiter
	maxAttempts   int
	observe       func(route string, statusCode int, d time.Duration)
	userAgent     string
	retryInitial  time.Duration
	retryMax      time.Duration
	maxRetryAfter time.Duration
	maxRateWait   time.Duration

	onRetry func(err error, wait time.Duration) // test hook: called before each wait
}

// RateDelay is how long until the key's rate budget lets the next request
// through: zero when one may be sent now.
func (c *Client) RateDelay() time.Duration { return delayOf(c.limiter) }

// String identifies the client without revealing its key.
func (c *Client) String() string {
	return fmt.Sprintf("align.Client{%s key %s}", c.base, RedactKey(c.apiKey))
}

// request describes one API call; route is a template from assumptions.go whose ":name"
// segments are filled, in order, from ids.
type request struct {
	method  string
	route   string
	ids     []string
	query   url.Values
	idemKey string
	body    any
}

// do performs r with rate limiting and retries, decodes a 2xx body into out (when non-nil) and
// returns the final HTTP status.
func (c *Client) do(ctx context.Context, r request, out any) (int, error) {
	label := r.method + " " + r.route
	target, body, err := c.prepare(r)
	if err != nil {
		return 0, fmt.Errorf("align %s: %w", label, err)
	}
	var last error
	op := func() (int, error) {
		status, err := c.attempt(ctx, label, r, target, body, out)
		last = err
		return status, c.classify(err)
	}
	status, err := backoff.Retry(ctx, op, c.retryOptions()...)
	if err == nil {
		return status, nil
	}
	err = unwrapRetryMarks(err)
	if err == last || last == nil {
		return status, err
	}
	// backoff.Retry returned the context's cause instead of the last attempt's error.
	if errors.Is(last, context.Canceled) || errors.Is(last, context.DeadlineExceeded) {
		return status, last
	}
	return status, fmt.Errorf("align %s: %w (last attempt: %v)", label, err, last)
}

// prepare checks r and returns the request URL and the JSON body, built once for all attempts.
func (c *Client) prepare(r request) (string, []byte, error) {
	if r.method == http.MethodPost && r.idemKey == "" {
		return "", nil, ErrMissingIdempotencyKey
	}
	path, err := expand(r.route, r.ids...)
	if err != nil {
		return "", nil, err
	}
	target := c.base + path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	if r.body == nil {
		return target, nil, nil
	}
	body, err := json.Marshal(r.body)
	if err != nil {
		return "", nil, fmt.Errorf("encoding request body: %w", err)
	}
	return target, body, nil
}

// attempt sends one HTTP request after waiting for the key's rate limiter.
func (c *Client) attempt(ctx context.Context, label string, r request, target string, body []byte, out any) (int, error) {
	if err := waitToken(ctx, c.limiter, c.maxRateWait, label); err != nil {
		var budget *RateBudgetError
		if errors.As(err, &budget) {
			return 0, err
		}
		return 0, &limitWaitError{route: label, err: err}
	}
	req, err := c.newRequest(ctx, r.method, target, r.idemKey, body)
	if err != nil {
		return 0, fmt.Errorf("align %s: building request: %w", label, err)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.report(label, 0, time.Since(start))
		return 0, &transportError{route: label, err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	c.report(label, resp.StatusCode, time.Since(start))
	if err != nil {
		return resp.StatusCode, &transportError{route: label, err: fmt.Errorf("reading response: %w", err)}
	}
	if resp.StatusCode >= 400 {
		return resp.StatusCode, c.apiError(label, resp, raw)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("align %s: decoding %d response: %w", label, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) newRequest(ctx context.Context, method, target, idemKey string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	return req, nil
}

func (c *Client) report(route string, status int, d time.Duration) {
	if c.observe != nil {
		c.observe(route, status, d)
	}
}

// classify turns an attempt's error into what backoff.Retry understands, deciding with
// Retryable: permanent errors stop at once, Retry-After overrides the backoff, and a Retry-After
// longer than the client is willing to wait goes back to the caller.
func (c *Client) classify(err error) error {
	if err == nil {
		return nil
	}
	var lw *limitWaitError
	var budget *RateBudgetError
	if errors.As(err, &lw) || errors.As(err, &budget) || !Retryable(err) {
		return backoff.Permanent(err)
	}
	wait := RetryAfter(err)
	if wait > c.maxRetryAfter {
		return backoff.Permanent(err)
	}
	if wait > 0 {
		return &retryAfterError{err: err, wait: &backoff.RetryAfterError{Duration: wait}}
	}
	return err
}

func (c *Client) retryOptions() []backoff.RetryOption {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     c.retryInitial,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         c.retryMax,
	}
	opts := []backoff.RetryOption{
		backoff.WithBackOff(b),
		backoff.WithMaxTries(uint(c.maxAttempts)),
		backoff.WithMaxElapsedTime(0), // bounded by attempts and the caller's context instead
	}
	if c.onRetry != nil {
		opts = append(opts, backoff.WithNotify(c.onRetry))
	}
	return opts
}

// retryAfterError carries an APIError together with the wait backoff.Retry must honour.
type retryAfterError struct {
	err  error
	wait *backoff.RetryAfterError
}

func (e *retryAfterError) Error() string   { return e.err.Error() }
func (e *retryAfterError) Unwrap() []error { return []error{e.err, e.wait} }

// unwrapRetryMarks removes the wrappers classify adds for backoff.Retry, which returns them as is
// when the attempts run out.
func unwrapRetryMarks(err error) error {
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		err = perm.Err
	}
	var ra *retryAfterError
	if errors.As(err, &ra) {
		err = ra.err
	}
	return err
}

// limitWaitError is a rate-limiter wait that could not finish within the caller's context.
type limitWaitError struct {
	route string
	err   error
}

func (e *limitWaitError) Error() string {
	return fmt.Sprintf("align %s: waiting for the rate limiter: %v", e.route, e.err)
}

// Unwrap reports the limiter's "would exceed context deadline" as a deadline, which it is.
func (e *limitWaitError) Unwrap() error {
	if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
		return e.err
	}
	return context.DeadlineExceeded
}

// expand fills the ":name" segments of route with the escaped ids, in order.
func expand(route string, ids ...string) (string, error) {
	segs := strings.Split(route, "/")
	n := 0
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			continue
		}
		if n >= len(ids) || ids[n] == "" {
			return "", fmt.Errorf("%w: %s", ErrMissingID, s[1:])
		}
		segs[i] = url.PathEscape(ids[n])
		n++
	}
	if n != len(ids) {
		return "", fmt.Errorf("route %s takes %d ids, got %d", route, n, len(ids))
	}
	return strings.Join(segs, "/"), nil
}
