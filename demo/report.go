package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/reconcile"
)

// companyCheck is the entity-by-entity comparison of one company.
type companyCheck struct {
	projects, pages, members, entries, statuses [2]int // matched, expected
	problems                                    []string
}

func (c *companyCheck) ok() bool { return c != nil && len(c.problems) == 0 }

func (c *companyCheck) expect(counter *[2]int, matched bool, problem string, args ...any) {
	counter[1]++
	if matched {
		counter[0]++
		return
	}
	c.problems = append(c.problems, fmt.Sprintf(problem, args...))
}

// report waits for the pipeline to settle, compares both sides, runs a
// reconciliation and prints the verdict, with what happened in the incident
// (inc may be nil: none was planned).
func (w *world) report(ctx context.Context, d *driver, inc *incident) error {
	var checks map[string]*companyCheck
	for {
		next := w.compare(ctx, d.companies)
		if ctx.Err() != nil {
			break // keep the last comparison made before the deadline
		}
		checks = next
		converged := true
		for _, c := range checks {
			converged = converged && c.ok()
		}
		if converged {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	recCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, recErr := w.recon.Run(recCtx, reconcile.Options{Window: reconcile.Window{All: true}})
	out := w.opts.Out
	fmt.Fprintf(out, "\nConvergence report (%d changes written, %d manager actions)\n", d.changes.Load(), d.managed.Load())
	fmt.Fprintf(out, "%-20s %-10s %-10s %-10s %-12s %-12s %s\n", "company", "projects", "wiki", "members", "entries", "statuses", "verdict")
	failed := false
	for _, c := range d.companies {
		ch := checks[c.ID]
		verdict := "converged"
		if !ch.ok() {
			verdict, failed = "DIVERGED", true
		}
		fmt.Fprintf(out, "%-20s %-10s %-10s %-10s %-12s %-12s %s\n", c.Name, frac(ch.projects), frac(ch.pages), frac(ch.members),
			frac(ch.entries), frac(ch.statuses), verdict)
		for i, p := range ch.problems {
			if i == 5 {
				fmt.Fprintf(out, "    … and %d more\n", len(ch.problems)-5)
				break
			}
			fmt.Fprintf(out, "    %s\n", p)
		}
	}
	if inc != nil && !inc.report(recCtx, out, checks[inc.c.ID].ok()) {
		failed = true
	}
	if recErr != nil {
		fmt.Fprintf(out, "reconciliation could not run: %v\n", recErr)
		return fmt.Errorf("reconciliation: %w", recErr)
	}
	fmt.Fprintf(out, "reconciliation: %d companies, %d projects, %d entries compared, %d discrepancies, %d link problems\n",
		rep.Totals.Companies, rep.Totals.Projects, rep.Totals.EntriesCompared, rep.Totals.Discrepancies, rep.Totals.LinkProblems)
	if failed || rep.Totals.Discrepancies > 0 || rep.Totals.LinkProblems > 0 {
		return errors.New("Illumera and Align did not converge")
	}
	fmt.Fprintln(out, "Illumera and Align agree entity by entity; reconciliation found nothing.")
	return nil
}

func frac(c [2]int) string { return fmt.Sprintf("%d/%d", c[0], c[1]) }

// compare checks every company's Illumera rows against its Align org.
func (w *world) compare(ctx context.Context, companies []company) map[string]*companyCheck {
	out := map[string]*companyCheck{}
	for _, c := range companies {
		ch := &companyCheck{}
		out[c.ID] = ch
		st, err := w.align.Control.State(ctx, c.Org.OrganizationID)
		if err != nil {
			ch.problems = append(ch.problems, "reading Align: "+err.Error())
			continue
		}
		if err := w.compareCompany(ctx, c, st, ch); err != nil {
			ch.problems = append(ch.problems, "reading Illumera: "+err.Error())
		}
	}
	return out
}

func (w *world) compareCompany(ctx context.Context, c company, st alignsim.State, ch *companyCheck) error {
	links := map[string]string{}
	rows, err := w.pool.Query(ctx, `SELECT entity_type || ':' || illumera_id, align_id FROM align_sync.entity_links WHERE company_id = $1`, c.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k, v string
		if rows.Scan(&k, &v) == nil {
			links[k] = v
		}
	}
	rows.Close()
	if err := w.compareProjects(ctx, c, st, links, ch); err != nil {
		return err
	}
	if err := w.compareMembers(ctx, c, st, links, ch); err != nil {
		return err
	}
	return w.compareEntries(ctx, c, st, ch)
}

var alignStatus = map[string]string{"draft": "on_hold", "open": "on_hold", "on_hold": "on_hold", "active": "active", "completed": "completed"}

func (w *world) compareProjects(ctx context.Context, c company, st alignsim.State, links map[string]string, ch *companyCheck) error {
	byID := map[string]alignsim.Project{}
	for _, p := range st.Projects {
		byID[p.ID] = p
	}
	pages := map[string]bool{}
	for _, p := range st.WikiPages {
		pages[p.ProjectID] = true
	}
	rows, err := w.pool.Query(ctx, `SELECT id::text, title, status FROM projects WHERE company_id = $1`, c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, title, status string
		if err := rows.Scan(&id, &title, &status); err != nil {
			return err
		}
		p, ok := byID[links["project:"+id]]
		ch.expect(&ch.projects, ok && p.Name == title && p.Status == alignStatus[status] && p.TimeBillingEnabled,
			"project %s %q (%s): Align has %+v", id[:8], title, status, p)
		if status == "active" {
			ch.expect(&ch.pages, pages[p.ID], "project %s is active but has no staffing page", id[:8])
		}
	}
	if len(st.Projects) != ch.projects[1] {
		ch.problems = append(ch.problems, fmt.Sprintf("Align holds %d projects, Illumera %d", len(st.Projects), ch.projects[1]))
	}
	return rows.Err()
}

func (w *world) compareMembers(ctx context.Context, c company, st alignsim.State, links map[string]string, ch *companyCheck) error {
	members := map[string]bool{}
	for _, m := range st.Members {
		members[m.ProjectID+"/"+m.UserID] = true
	}
	rows, err := w.pool.Query(ctx, `SELECT project_id::text, talent_id::text, status FROM engagements
		WHERE company_id = $1 AND status IN ('accepted', 'active', 'ended')`, c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var project, talent, status string
		if err := rows.Scan(&project, &talent, &status); err != nil {
			return err
		}
		is := members[links["project:"+project]+"/"+links["user:"+talent]]
		want := status != "ended"
		ch.expect(&ch.members, is == want, "talent %s on project %s (%s): member in Align = %v", talent[:8], project[:8], status, is)
	}
	return rows.Err()
}

func (w *world) compareEntries(ctx context.Context, c company, st alignsim.State, ch *companyCheck) error {
	byExt := map[string]alignsim.TimeEntry{}
	for _, e := range st.TimeEntries {
		if e.ExternalID != nil {
			byExt[*e.ExternalID] = e
		}
	}
	rows, err := w.pool.Query(ctx, `SELECT id::text, minutes, status, coalesce(rejection_reason, '') FROM time_entries WHERE company_id = $1`, c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, status, reason string
		var minutes int
		if err := rows.Scan(&id, &minutes, &status, &reason); err != nil {
			return err
		}
		e, ok := byExt[id]
		ch.expect(&ch.entries, ok && e.Minutes == minutes, "entry %s (%d min): Align has %d min (found %v)", id[:8], minutes, e.Minutes, ok)
		sameReason := status != "rejected" || (e.RejectionReason != nil && strings.TrimSpace(*e.RejectionReason) == reason)
		ch.expect(&ch.statuses, ok && e.Status == status && sameReason, "entry %s: Illumera %s, Align %s", id[:8], status, e.Status)
	}
	if len(st.TimeEntries) != ch.entries[1] {
		ch.problems = append(ch.problems, fmt.Sprintf("Align holds %d time entries, Illumera %d", len(st.TimeEntries), ch.entries[1]))
	}
	return rows.Err()
}
