package reconcile

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run found and did; it is also the --json output.
type Report struct {
	RunID      string          `json:"runId"`
	StartedAt  time.Time       `json:"startedAt"`
	FinishedAt time.Time       `json:"finishedAt"`
	Window     string          `json:"window"`
	StartDate  string          `json:"startDate,omitempty"` // inclusive work dates; empty for all
	EndDate    string          `json:"endDate,omitempty"`
	Repair     bool            `json:"repair"`
	Totals     Totals          `json:"totals"`
	Companies  []CompanyReport `json:"companies"`
}

// Totals sums a report.
type Totals struct {
	Companies       int `json:"companies"`
	Projects        int `json:"projects"`
	EntriesCompared int `json:"entriesCompared"`
	Discrepancies   int `json:"discrepancies"`
	Resolved        int `json:"resolved"` // open discrepancies this run found clean
	LinkProblems    int `json:"linkProblems"`
	Repairs         int `json:"repairs"`
	Errors          int `json:"errors"`
}

// CompanyReport is one company's part of a run.
type CompanyReport struct {
	CompanyID    string          `json:"companyId"`
	Projects     []ProjectReport `json:"projects"`
	LinkProblems []LinkProblem   `json:"linkProblems"`
	Repairs      []Repair        `json:"repairs"`
	Resolved     int             `json:"resolved"` // open discrepancies this run found clean
	Error        string          `json:"error,omitempty"`
}

// ProjectReport compares one linked project.
type ProjectReport struct {
	ProjectID                 string        `json:"projectId"`
	AlignProjectID            string        `json:"alignProjectId"`
	IllumeraEntries           int           `json:"illumeraEntries"`
	AlignEntries              int           `json:"alignEntries"`
	AlignForeignEntries       int           `json:"alignForeignEntries"` // Align entries not written by the integration
	EntriesCompared           int           `json:"entriesCompared"`
	IllumeraApprovedMinutes   int64         `json:"illumeraApprovedMinutes"`
	AlignApprovedMinutes      int64         `json:"alignApprovedMinutes"`
	IllumeraApprovedCostCents int64         `json:"illumeraApprovedCostCents"`
	AlignApprovedCostCents    int64         `json:"alignApprovedCostCents"`
	Discrepancies             []Discrepancy `json:"discrepancies"`
	Error                     string        `json:"error,omitempty"`
}

// Discrepancy is a recorded difference of one field of a project.
type Discrepancy struct {
	Field         string `json:"field"`
	IllumeraValue int64  `json:"illumeraValue"`
	AlignValue    int64  `json:"alignValue"`
}

// Link problems.
const (
	LinkUnknownToAlign  = "unknown_to_align" // Align has no integration link for the Illumera entity
	LinkPointsElsewhere = "points_elsewhere" // Align links it to another entity than alignsync does
)

// LinkProblem is an entity link Align disagrees with.
type LinkProblem struct {
	EntityType string `json:"entityType"`
	IllumeraID string `json:"illumeraId"`
	AlignID    string `json:"alignId"`             // what alignsync's link says
	AlignSays  string `json:"alignSays,omitempty"` // what Align's integration link says
	Problem    string `json:"problem"`
}

// Repair kinds.
const (
	RepairStatus    = "status"    // a missed webhook's status written back
	RepairReenqueue = "reenqueue" // an entry Align never received, sent again
)

// Repair is one thing --repair did (Applied), found unnecessary when it came
// to it (Note says why), or, without --repair, would do.
type Repair struct {
	Kind         string `json:"kind"`
	EntryID      string `json:"entryId"`
	AlignEntryID string `json:"alignEntryId,omitempty"`
	From         string `json:"from,omitempty"`
	To           string `json:"to,omitempty"`
	// RejectionReason is Align's, written back with a rejected status.
	RejectionReason string `json:"rejectionReason,omitempty"`
	Applied         bool   `json:"applied"`
	Note            string `json:"note,omitempty"`

	change statusChange // what the comparison saw, for a status repair
}

func (r *Report) add(c CompanyReport) {
	r.Companies = append(r.Companies, c)
	r.Totals.Companies++
	if c.Error != "" {
		r.Totals.Errors++
	}
	for _, p := range c.Projects {
		r.Totals.Projects++
		r.Totals.EntriesCompared += p.EntriesCompared
		r.Totals.Discrepancies += len(p.Discrepancies)
		if p.Error != "" {
			r.Totals.Errors++
		}
	}
	r.Totals.LinkProblems += len(c.LinkProblems)
	r.Totals.Resolved += c.Resolved
	for _, rp := range c.Repairs {
		if rp.Applied {
			r.Totals.Repairs++
		}
	}
}

// WriteText writes the human summary: totals first, then each finding.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	dates := "all work dates"
	if r.StartDate != "" {
		dates = r.StartDate + ".." + r.EndDate
	}
	repair := "off"
	if r.Repair {
		repair = "on"
	}
	fmt.Fprintf(&b, "reconcile run %s: window %s (%s), repair %s, %s\n", r.RunID, r.Window, dates, repair,
		r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
	t := r.Totals
	fmt.Fprintf(&b, "  companies %d, projects %d, entries compared %d, discrepancies %d (resolved %d), link problems %d, repairs %d, errors %d\n",
		t.Companies, t.Projects, t.EntriesCompared, t.Discrepancies, t.Resolved, t.LinkProblems, t.Repairs, t.Errors)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	section := func(title string, n int) {
		if n > 0 {
			tw.Flush()
			fmt.Fprintf(&b, "\n%s:\n", title)
		}
	}
	section("discrepancies (open in align_sync.reconciliation_discrepancies until a run finds them clean)", t.Discrepancies)
	for _, c := range r.Companies {
		for _, p := range c.Projects {
			for _, d := range p.Discrepancies {
				fmt.Fprintf(tw, "  company %s\tproject %s\t%s\tIllumera %d\tAlign %d\n", c.CompanyID, p.ProjectID, d.Field, d.IllumeraValue, d.AlignValue)
			}
		}
	}
	section("link problems", t.LinkProblems)
	for _, c := range r.Companies {
		for _, l := range c.LinkProblems {
			what := "Align has no integration link for it"
			if l.Problem == LinkPointsElsewhere {
				what = "Align links it to " + l.AlignSays
			}
			fmt.Fprintf(tw, "  company %s\t%s %s\tlinked to %s\t%s\n", c.CompanyID, l.EntityType, l.IllumeraID, l.AlignID, what)
		}
	}
	repairs := 0
	for _, c := range r.Companies {
		repairs += len(c.Repairs)
	}
	if r.Repair {
		section("repairs", repairs)
	} else {
		section("repairs that --repair would make", repairs)
	}
	for _, c := range r.Companies {
		for _, rp := range c.Repairs {
			fmt.Fprintf(tw, "  company %s\tentry %s\t%s\n", c.CompanyID, rp.EntryID, rp.describe(r.Repair))
		}
	}
	section("errors (these were not reconciled)", t.Errors)
	for _, c := range r.Companies {
		if c.Error != "" {
			fmt.Fprintf(tw, "  company %s\t%s\n", c.CompanyID, c.Error)
		}
		for _, p := range c.Projects {
			if p.Error != "" {
				fmt.Fprintf(tw, "  company %s\tproject %s\t%s\n", c.CompanyID, p.ProjectID, p.Error)
			}
		}
	}
	tw.Flush()
	if !r.Repair && repairs > 0 {
		b.WriteString("\nRun again with --repair to write missed statuses back and re-send entries Align never received.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (rp Repair) describe(repairing bool) string {
	var s string
	switch rp.Kind {
	case RepairStatus:
		s = fmt.Sprintf("status %s -> %s (missed webhook)", rp.From, rp.To)
	case RepairReenqueue:
		s = "re-enqueue: Align never received it"
		if rp.Applied {
			s = "re-enqueued: Align never received it; a running sink sends it"
		}
	}
	if repairing && !rp.Applied {
		s = "not repaired: " + s
	}
	if rp.Note != "" {
		s += "; " + rp.Note
	}
	return s
}
