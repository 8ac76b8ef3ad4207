package reconcile

import (
	"time"

	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/sinks/align"
)

// Fields of align_sync.reconciliation_discrepancies.
const (
	FieldApprovedMinutes   = "approved_minutes"
	FieldApprovedCostCents = "approved_cost_cents"
)

// CostNoiseCents is the largest cost difference that is not a discrepancy:
// per-entry rounding on both sides can drift a total by a few cents, and the
// admin guide promises to record only deltas larger than $1.
const CostNoiseCents = 100

// provider is the externalSystem and externalRef provider of every record the
// pipeline writes; entries Align holds under another system are not Illumera's.
const provider = "illumera"

// approved: the statuses whose minutes count.
func approved(status string) bool {
	return status == ingest.StatusApproved || status == ingest.StatusLocked || status == ingest.StatusInvoiced
}

// entryCost is an entry's cost in cents, rounded half up per entry, as Align
// computes costCents: minutes × rate / 60.
func entryCost(minutes int, rateCents int64) int64 {
	return (int64(minutes)*rateCents + 30) / 60
}

// illumeraEntry is one Illumera time entry in a run's scope.
type illumeraEntry struct {
	ID              string
	Minutes         int
	Status          string
	RateCents       int64
	UpdatedAt       time.Time
	Linked          bool // Align answered its creation once: there is an entity link
	InFlight        bool // an outbox operation for it is not done yet
	RejectionReason string
}

// comparison is one project's two sides.
type comparison struct {
	IllumeraEntries, AlignEntries, ForeignEntries, Compared int
	IllumeraMinutes, AlignMinutes                           int64
	IllumeraCost, AlignCost                                 int64
	// Ahead are entries whose Align status Illumera missed.
	Ahead []statusChange
	// Missing are entries Align never received.
	Missing []string
}

// statusChange is a status Align holds and Illumera does not have yet.
type statusChange struct {
	EntryID, AlignEntryID, From, To, Reason string
	Seen                                    time.Time       // Illumera's updated_at when compared
	Align                                   align.TimeEntry // as Align answered
}

// compare totals a project's approved minutes and cost on both sides and
// lists what a repair would do. Align entries of another system are counted
// apart and left out of the totals.
func compare(ill []illumeraEntry, al []align.TimeEntry) comparison {
	var c comparison
	byID := make(map[string]align.TimeEntry, len(al))
	for _, e := range al {
		if e.ExternalSystem != provider || e.ExternalID == "" {
			c.ForeignEntries++
			continue
		}
		c.AlignEntries++
		byID[e.ExternalID] = e
		if approved(string(e.Status)) {
			c.AlignMinutes += int64(e.Minutes)
			if e.CostCents != nil {
				c.AlignCost += *e.CostCents
			}
		}
	}
	c.IllumeraEntries = len(ill)
	matched := 0
	for _, e := range ill {
		if approved(e.Status) {
			c.IllumeraMinutes += int64(e.Minutes)
			c.IllumeraCost += entryCost(e.Minutes, e.RateCents)
		}
		a, ok := byID[e.ID]
		switch {
		case ok:
			matched++
			if ahead(e, a) {
				c.Ahead = append(c.Ahead, statusChange{EntryID: e.ID, AlignEntryID: a.ID, From: e.Status,
					To: string(a.Status), Reason: a.RejectionReason, Seen: e.UpdatedAt, Align: a})
			}
		case !e.Linked && !e.InFlight:
			c.Missing = append(c.Missing, e.ID)
		}
	}
	c.Compared = c.IllumeraEntries + c.AlignEntries - matched
	return c
}

// ahead reports whether Align's status is news Illumera missed. Forward
// moves (in ingest's lifecycle, where rejected sits beside submitted) always
// are. A rejection is only when Illumera still shows the entry
// submitted, nothing for it is waiting in the outbox, and Illumera's row has
// not changed since Align's rejection: otherwise the talent may have
// resubmitted and the pipeline not yet told Align, and writing rejected back
// would undo their work.
func ahead(e illumeraEntry, a align.TimeEntry) bool {
	to := string(a.Status)
	if to == ingest.StatusRejected {
		return e.Status == ingest.StatusSubmitted && !e.InFlight && !a.UpdatedAt.IsZero() && e.UpdatedAt.Before(a.UpdatedAt)
	}
	r, ok := ingest.Rank(to)
	current, _ := ingest.Rank(e.Status)
	return ok && to != ingest.StatusDraft && r > current
}

// discrepancies are the differences a comparison records: any in minutes,
// and in cost beyond the noise.
func (c comparison) discrepancies() []Discrepancy {
	var out []Discrepancy
	if c.IllumeraMinutes != c.AlignMinutes {
		out = append(out, Discrepancy{Field: FieldApprovedMinutes, IllumeraValue: c.IllumeraMinutes, AlignValue: c.AlignMinutes})
	}
	if d := c.IllumeraCost - c.AlignCost; d > CostNoiseCents || d < -CostNoiseCents {
		out = append(out, Discrepancy{Field: FieldApprovedCostCents, IllumeraValue: c.IllumeraCost, AlignValue: c.AlignCost})
	}
	return out
}
