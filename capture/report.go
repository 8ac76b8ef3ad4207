package capture

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report for an operator: the server, the slot, one
// line per table, then what to run.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", r.Database)
	fmt.Fprintf(tw, "wal_level\t%s\n", r.WALLevel)
	fmt.Fprintf(tw, "role\t%s (REPLICATION: %s)\n", r.Role, yesNo(r.Replication))
	fmt.Fprintf(tw, "publication\t%s (exists: %s)\n", r.Publication, yesNo(r.PublicationExists))
	if r.Slot.Exists {
		fmt.Fprintf(tw, "slot\t%s (plugin %s, active: %s, wal_status %s, confirmed_flush_lsn %s, retains %d bytes of WAL)\n",
			r.Slot.Name, r.Slot.Plugin, yesNo(r.Slot.Active), r.Slot.WALStatus, r.Slot.ConfirmedFlushLSN, r.Slot.RetainedWALBytes)
	} else {
		fmt.Fprintf(tw, "slot\t%s (exists: no)\n", r.Slot.Name)
	}
	fmt.Fprintln(tw, "\nTABLE\tPUBLISHED\tREPLICA IDENTITY\tKAFKA KEY")
	for _, t := range r.Tables {
		if !t.Exists {
			fmt.Fprintf(tw, "%s\t-\t-\t(table does not exist)\n", t.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, yesNo(t.Published), t.ReplicaIdentity, keyOf(t))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Fixes) > 0 {
		fmt.Fprintln(w, "\nTo fix, run:")
		for _, f := range r.Fixes {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	status := "ready"
	if !r.OK() {
		status = fmt.Sprintf("NOT ready (%d to fix)", len(r.Fixes))
	}
	_, err := fmt.Fprintf(w, "\nResult: %s\n", status)
	return err
}

func keyOf(t TableReport) string {
	switch {
	case t.HasCompanyID:
		return "company_id"
	case len(t.PrimaryKey) > 0:
		return strings.Join(t.PrimaryKey, ",") + " (primary key)"
	}
	return "table name"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
