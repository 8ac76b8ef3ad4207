package align

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultMaxAttempts   = 5
	DefaultRetryInitial  = 500 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
	defaultUserAgent     = "alignsync"
)

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	// BaseURL is Align's API root including the version, e.g. https://app.alignsoft.us/api/v1.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>" and never shown beyond its last four
	// characters.
	APIKey string
	// HTTPClient, when nil, is a dedicated client whose whole-request timeout is Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt of the default HTTPClient (default 30 s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts per call, first one included (default 5; 1 = no retry).
	MaxAttempts int
	// RatePerMinute is the client-side budget of the key (default 600, Align's limit).
	RatePerMinute int
	// Limiters shares one limiter per key between clients; nil gives this client its own.
	Limiters *Limiters
	// Observe, when set, is called once per HTTP attempt with the templated route
	// ("POST /projects/:id/members"), the status (0 when no response arrived) and the duration.
	Observe func(route string, statusCode int, d time.Duration)
	// UserAgent is sent on every request (default "alignsync").
	UserAgent string
	// RetryInitial and RetryMax shape the exponential backoff between attempts (defaults 500 ms
	// and 30 s, with ±50 % jitter).
	RetryInitial time.Duration
	RetryMax     time.Duration
	// MaxRetryAfter is the longest Retry-After waited out inside a call (default 2 min); a longer
	// one is returned to the caller (see RetryAfter) so it can park the work instead.
	MaxRetryAfter time.Duration
	// MaxRateWait, when positive, is the longest a call waits for the key's rate budget; a call
	// that would wait longer fails at once with a *RateBudgetError, so a caller serving many keys
	// can spend the time on another one. Zero waits as long as needed.
	MaxRateWait time.Duration
}

// String shows the configuration with the API key redacted.
func (c Config) String() string {
	return fmt.Sprintf("align.Config{BaseURL:%q APIKey:%q MaxAttempts:%d RatePerMinute:%d}",
		c.BaseURL, RedactKey(c.APIKey), c.MaxAttempts, c.RatePerMinute)
}

// LogValue logs the configuration with the API key redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("api_key", RedactKey(c.APIKey)),
		slog.Int("max_attempts", c.MaxAttempts),
		slog.Int("rate_per_minute", c.RatePerMinute),
	)
}

// RedactKey returns the only form of an API key that may be shown or logged: its last four
// characters (nothing at all for a key too short to hide the rest).
func RedactKey(key string) string {
	if len(key) < 12 {
		return "…"
	}
	return "…" + key[len(key)-4:]
}

func (c Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil {
		errs = append(errs, fmt.Errorf("parsing base URL: %w", err))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base URL %q: want http(s)://host[/path]", c.BaseURL))
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		errs = append(errs, fmt.Errorf("base URL %q: no query, fragment or user info allowed", c.BaseURL))
	}
	if c.APIKey == "" {
		errs = append(errs, errors.New("API key is empty"))
	} else if strings.ContainsFunc(c.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		errs = append(errs, fmt.Errorf("API key %s contains spaces or control characters", RedactKey(c.APIKey)))
	}
	for _, f := range []struct {
		name  string
		value int64
	}{
		{"MaxAttempts", int64(c.MaxAttempts)}, {"RatePerMinute", int64(c.RatePerMinute)},
		{"Timeout", int64(c.Timeout)}, {"RetryInitial", int64(c.RetryInitial)},
		{"RetryMax", int64(c.RetryMax)}, {"MaxRetryAfter", int64(c.MaxRetryAfter)},
		{"MaxRateWait", int64(c.MaxRateWait)},
	} {
		if f.value < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", f.name))
		}
	}
	return errors.Join(errs...)
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configuring align client: %w", err)
	}
	perMinute := orDefault(cfg.RatePerMinute, DefaultRatePerMinute)
	limiters := cfg.Limiters
	if limiters == nil {
		limiters = NewLimiters()
	}
	c := &Client{
		base:          strings.TrimSuffix(cfg.BaseURL, "/"),
		apiKey:        cfg.APIKey,
		http:          cfg.HTTPClient,
		limiter:       limiters.forKey(cfg.APIKey, perMinute),
		maxAttempts:   orDefault(cfg.MaxAttempts, DefaultMaxAttempts),
		observe:       cfg.Observe,
		userAgent:     orDefault(cfg.UserAgent, defaultUserAgent),
		retryInitial:  orDefault(cfg.RetryInitial, DefaultRetryInitial),
		retryMax:      orDefault(cfg.RetryMax, DefaultRetryMax),
		maxRetryAfter: orDefault(cfg.MaxRetryAfter, DefaultMaxRetryAfter),
		maxRateWait:   cfg.MaxRateWait,
	}
	if c.http == nil {
		c.http = defaultHTTPClient(orDefault(cfg.Timeout, DefaultTimeout))
	}
	return c, nil
}

func defaultHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 8
	return &http.Client{Timeout: timeout, Transport: t}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
