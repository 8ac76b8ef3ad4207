package replay

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the plan as kafka-consumer-groups does, with the
// messages each partition will deliver again or skip, and what to do next.
func (p Plan) WriteTable(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET\tLOG-START\tLOG-END\tREDELIVER\tSKIP")
	clamped := false
	var redeliver, skip int64
	for _, pp := range p.Partitions {
		current := "-"
		if pp.Current >= 0 {
			current = strconv.FormatInt(pp.Current, 10)
		}
		mark := ""
		if pp.Clamped {
			mark, clamped = "*", true
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d%s\t%d\t%d\t%d\t%d\n", p.Group, p.Topic, pp.Partition, current, pp.New, mark,
			pp.Start, pp.End, pp.Redeliver, pp.Skip)
		redeliver += pp.Redeliver
		skip += pp.Skip
	}
	tw.Flush()
	if clamped {
		b.WriteString("* outside the offsets the topic holds; clamped to its range.\n")
	}
	fmt.Fprintf(&b, "\n%s: %d message(s) to deliver again, %d to skip.\n", p.Target, redeliver, skip)
	if p.Executed {
		fmt.Fprintf(&b, "Committed the new offsets of group %s. Start the sink instances again "+
			"(kubectl scale deployment/alignsync-sink --replicas=N); replayed changes that were done are skipped.\n", p.Group)
	} else {
		b.WriteString("Dry run: nothing was changed. Add --execute to commit these offsets (keep the sink stopped until then).\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
