package alignsim

import (
	"net/http"
	"strings"
)

// faultSettings is the state behind PUT /_sim/faults (align-contract.md §9).
type faultSettings struct {
	ErrorRate          float64 `json:"errorRate"`
	Status             int     `json:"status"`
	LatencyMs          int     `json:"latencyMs"`
	RateLimitPerMinute int     `json:"rateLimitPerMinute"`
	DropWebhooks       float64 `json:"dropWebhooks"`
	DuplicateWebhooks  float64 `json:"duplicateWebhooks"`
	ReorderWebhooks    bool    `json:"reorderWebhooks"`
}

func defaultFaults() faultSettings {
	return faultSettings{Status: http.StatusServiceUnavailable, RateLimitPerMinute: 600}
}

// defaultRetryDelaysMs is the webhook retry schedule of align-contract.md §8.
var defaultRetryDelaysMs = []int{5000, 30000, 120000, 600000, 3600000}

// maxLatencyMs keeps a typo from hanging every request for hours.
const maxLatencyMs = 60_000

// mergeFaults applies the fields present in f to cur; nothing is applied
// unless every given field is valid.
func mergeFaults(cur faultSettings, f *fields) (faultSettings, error) {
	if v, ok := f.optFloat("errorRate"); ok {
		cur.ErrorRate = probability(f, "errorRate", v)
	}
	if v, ok := f.optInt("status"); ok {
		if v != http.StatusTooManyRequests && (v < 500 || v > 599) {
			f.fail("status", "must be 429 or a 5xx status")
		}
		cur.Status = v
	}
	if v, ok := f.optInt("latencyMs"); ok {
		if v < 0 || v > maxLatencyMs {
			f.fail("latencyMs", "must be between 0 and %d", maxLatencyMs)
		}
		cur.LatencyMs = v
	}
	if v, ok := f.optInt("rateLimitPerMinute"); ok {
		if v < 1 {
			f.fail("rateLimitPerMinute", "must be at least 1")
		}
		cur.RateLimitPerMinute = v
	}
	if v, ok := f.optFloat("dropWebhooks"); ok {
		cur.DropWebhooks = probability(f, "dropWebhooks", v)
	}
	if v, ok := f.optFloat("duplicateWebhooks"); ok {
		cur.DuplicateWebhooks = probability(f, "duplicateWebhooks", v)
	}
	if v, ok := f.optBool("reorderWebhooks"); ok {
		cur.ReorderWebhooks = v
	}
	return cur, f.done()
}

func probability(f *fields, name string, v float64) float64 {
	if v < 0 || v > 1 {
		f.fail(name, "must be between 0 and 1")
	}
	return v
}

// injectedFault draws once per counted API request. A fault happens before
// any side effect: the handler does not run.
func (s *Server) injectedFault() (response, bool) {
	f := s.faults
	if f.ErrorRate <= 0 || s.rng.Float64() >= f.ErrorRate {
		return response{}, false
	}
	if f.Status == http.StatusTooManyRequests {
		return errorResponse(errRateLimited(1, "injected fault")), true
	}
	return errorResponse(newError(f.Status, codeInternal, "injected fault: %s", strings.ToLower(http.StatusText(f.Status)))), true
}
