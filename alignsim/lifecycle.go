package alignsim

import (
	"slices"
	"time"
)

// Time-entry statuses (align-contract.md §5).
const (
	statusDraft     = "draft"
	statusSubmitted = "submitted"
	statusApproved  = "approved"
	statusRejected  = "rejected"
	statusLocked    = "locked"
	statusInvoiced  = "invoiced"
)

var entryStatuses = []string{statusDraft, statusSubmitted, statusApproved, statusRejected, statusLocked, statusInvoiced}

// nextStatus lists the allowed transitions: draft → submitted → approved |
// rejected, rejected → submitted, approved → locked → invoiced.
var nextStatus = map[string][]string{
	statusDraft:     {statusSubmitted},
	statusSubmitted: {statusApproved, statusRejected},
	statusRejected:  {statusSubmitted},
	statusApproved:  {statusLocked},
	statusLocked:    {statusInvoiced},
}

func canMove(from, to string) bool { return slices.Contains(nextStatus[from], to) }

// editable: fields may change only while draft or rejected.
func editable(status string) bool { return status == statusDraft || status == statusRejected }

// move changes e's status and fires the matching webhook. Rejecting sets
// the reason; resubmitting clears it.
func (s *Server) move(o *org, e *timeEntry, to string, reason *string, now time.Time) error {
	if !canMove(e.status, to) {
		return errTransition("a %s time entry cannot become %s", e.status, to)
	}
	e.status = to
	e.updatedAt = now
	if to == statusRejected || to == statusSubmitted {
		e.rejectionReason = reason
	}
	s.emit(o, e, now)
	return nil
}
