package resync

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteText prints one line per company and table, then the totals.
func (r Report) WriteText(w io.Writer) error {
	verb := "enqueued"
	if r.DryRun {
		verb = "due (dry run: nothing enqueued)"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPANY\tSINCE\tTABLE\tROWS CHANGED\tOPERATIONS")
	var rows, ops int
	for _, c := range r.Companies {
		for _, t := range Tables {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", c.CompanyID, c.Since.Format(time.RFC3339), t, c.Rows[t], c.Operations[t])
			rows += c.Rows[t]
			ops += c.Operations[t]
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d companies, %d rows changed since %s, %d operations %s.\n",
		len(r.Companies), rows, r.Since.Format(time.RFC3339), ops, verb)
	return err
}
