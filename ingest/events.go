package ingest

// Webhook event names of Align's time entries (docs/align-contract.md §8), the events
// a connection subscribes to and the receiver handles. Align documents
// time.submitted, time.approved and time.rejected; the spelling of
// time.locked and time.invoiced is assumed (docs/align-contract.md).
const (
	EventTimeSubmitted = "time.submitted"
	EventTimeApproved  = "time.approved"
	EventTimeRejected  = "time.rejected"
	EventTimeLocked    = "time.locked"   // assumed spelling
	EventTimeInvoiced  = "time.invoiced" // assumed spelling
)

// eventStatus is the time entry status each handled event reports.
var eventStatus = map[string]string{
	EventTimeSubmitted: StatusSubmitted,
	EventTimeApproved:  StatusApproved,
	EventTimeRejected:  StatusRejected,
	EventTimeLocked:    StatusLocked,
	EventTimeInvoiced:  StatusInvoiced,
}

// Events lists the events the receiver handles, in lifecycle order: what a
// connection's webhook subscribes to. Every call returns a new slice.
func Events() []string {
	return []string{EventTimeSubmitted, EventTimeApproved, EventTimeRejected, EventTimeLocked, EventTimeInvoiced}
}
