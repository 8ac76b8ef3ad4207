package pipeline

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/illumera/alignsync/sinks/align"
)

// alignAPI is what the pipeline asks of Align; *align.Client provides it.
type alignAPI interface {
	CreateProject(ctx context.Context, idemKey string, req align.CreateProjectRequest) (align.Project, bool, error)
	UpdateProject(ctx context.Context, projectID string, req align.UpdateProjectRequest) (align.Project, error)
	InviteUser(ctx context.Context, idemKey string, req align.InviteUserRequest) (align.InviteResult, error)
	AddMember(ctx context.Context, idemKey, projectID string, req align.AddMemberRequest) (align.Member, bool, error)
	RemoveMember(ctx context.Context, projectID, userID string) error
	CreateIntegrationTimeEntry(ctx context.Context, idemKey string, req align.CreateIntegrationTimeEntryRequest) (align.TimeEntry, bool, error)
	UpdateTimeEntry(ctx context.Context, id string, req align.UpdateTimeEntryRequest) (align.TimeEntry, error)
	SubmitTimeEntry(ctx context.Context, id string) (align.TimeEntry, error)
	GetTimeEntry(ctx context.Context, id string) (align.TimeEntry, error)
	CreateWikiPage(ctx context.Context, idemKey, projectID string, req align.CreateWikiPageRequest) (align.WikiPage, bool, error)
	UpdateWikiPage(ctx context.Context, pageID string, req align.UpdateWikiPageRequest) (align.WikiPage, error)
	ListWikiPages(ctx context.Context, projectID string) iter.Seq2[align.WikiPage, error]
	FindLink(ctx context.Context, ref align.ExternalRef) (align.IntegrationLink, bool, error)
}

var _ alignAPI = (*align.Client)(nil)

// provider is the externalRef provider and externalSystem of every record
// alignsync writes.
const provider = "illumera"

func ref(externalType, id string) align.ExternalRef {
	return align.ExternalRef{Provider: provider, ExternalType: externalType, ExternalID: id}
}

// permanentError is a failure no retry can fix without a change somewhere
// (missing source row, Align refusing the data).
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func permanent(format string, args ...any) error {
	return &permanentError{msg: fmt.Sprintf(format, args...)}
}

// outcome is how a failed run is parked.
type outcome int

const (
	parkRetry     outcome = iota // transient: retried at next_retry_at
	parkPermanent                // waits for Retry Failed
	parkAuth                     // the company's key was refused: connection to error
	rateLimited                  // the key's budget is spent: the company waits, the attempt is not counted
	abandon                      // shutting down: leave it processing for the next executor
)

// classify decides, in one place, what a failed operation run means.
func classify(ctx context.Context, err error) outcome {
	var perm *permanentError
	switch {
	case ctx.Err() != nil:
		return abandon
	case align.IsAuthFailure(err):
		return parkAuth
	case align.IsRateLimited(err):
		return rateLimited
	case errors.As(err, &perm):
		return parkPermanent
	case align.Retryable(err):
		return parkRetry
	}
	var apiErr *align.APIError
	if errors.As(err, &apiErr) {
		return parkPermanent // other 4xx: Align refuses the data as it is
	}
	return parkRetry // database hiccups and the like
}

// retryDelay is the parked wait after the k-th parking of an operation:
// exponential from 5 s, capped at an hour, and never shorter than Align's
// Retry-After.
func retryDelay(k int, err error) time.Duration {
	d := 5 * time.Second
	for i := 1; i < k && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return max(d, align.RetryAfter(err))
}
