package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/illumera/alignsync/alignsim"
)

// Entity kinds compared, in report order.
var kinds = []string{"projects", "wiki pages", "users", "members", "time entries"}

// tally counts one kind of entity: what Illumera says Align should hold,
// what Align holds, and how many of the former Align holds exactly once
// and as Illumera has it.
type tally struct{ want, have, matched int }

func (t tally) ok() bool { return t.want == t.have && t.have == t.matched }

// comparison is one company's Illumera and Align side by side.
type comparison struct {
	co       company
	tallies  map[string]*tally
	statuses map[string]int // time entries by status, of those that match
	ledger   *ledgerState
	webhooks map[string]int // the simulator's deliveries by state, "duplicated" included
	problems []string
	// strays are the ended engagements whose talent Align still lists as a
	// member, for their ledger history.
	strays []string
}

// converged: every entity matched, none extra or doubled, no operation left
// unfinished and every webhook delivery recorded processed.
func (cmp *comparison) converged() bool {
	for _, t := range cmp.tallies {
		if !t.ok() {
			return false
		}
	}
	unfinished := cmp.ledger.ops["pending"] + cmp.ledger.ops["processing"] + cmp.ledger.ops["failed"] +
		cmp.ledger.deliveries["received"] + cmp.ledger.deliveries["failed"]
	return len(cmp.problems) == 0 && unfinished == 0
}

func (cmp *comparison) problem(format string, args ...any) {
	cmp.problems = append(cmp.problems, fmt.Sprintf(format, args...))
}

// compare reads both sides of one company.
func (c *cluster) compare(ctx context.Context, co company) (*comparison, error) {
	il, err := readIllumera(ctx, c.env.Pool, co.ID)
	if err != nil {
		return nil, fmt.Errorf("reading Illumera's rows of %s: %w", co.Name, err)
	}
	ls, err := readLedger(ctx, c.env.Pool, co.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the ledger of %s: %w", co.Name, err)
	}
	st, err := c.ctl.State(ctx, co.Org.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("reading Align's state of %s: %w", co.Name, err)
	}
	cmp := &comparison{co: co, tallies: map[string]*tally{}, statuses: map[string]int{}, ledger: ls, webhooks: map[string]int{}}
	for _, k := range kinds {
		cmp.tallies[k] = &tally{}
	}
	a := indexAlign(st)
	cmp.projects(il, a)
	cmp.users(il, a)
	cmp.members(il, a)
	for _, e := range cmp.strays {
		h, err := engagementHistory(ctx, c.env.Pool, co.ID, e)
		if err != nil {
			return nil, err
		}
		cmp.problem("ledger of engagement %s (operation, status, attempts, done at): %s", short(e), h)
	}
	cmp.entries(il, a)
	cmp.deliveries(st, ls)
	return cmp, nil
}

// alignIndex is Align's state keyed for lookups. links maps an externalRef
// ("project:<illumera id>") to every Align entity linked to it: more than
// one is a double.
type alignIndex struct {
	links    map[string][]string
	projects map[string]alignsim.Project
	pages    map[string]int // Align project id → wiki pages
	users    map[string]alignsim.User
	members  map[string]bool // "<project id>/<user id>"
	entries  map[string]alignsim.TimeEntry
	st       alignsim.State
	manager  string
}

func indexAlign(st alignsim.State) *alignIndex {
	a := &alignIndex{links: map[string][]string{}, projects: map[string]alignsim.Project{}, pages: map[string]int{},
		users: map[string]alignsim.User{}, members: map[string]bool{}, entries: map[string]alignsim.TimeEntry{}, st: st}
	for _, l := range st.IntegrationLinks {
		if l.Provider == "illumera" {
			k := l.ExternalType + ":" + l.ExternalID
			a.links[k] = append(a.links[k], l.AlignEntityID)
		}
	}
	for _, p := range st.Projects {
		a.projects[p.ID] = p
	}
	for _, p := range st.WikiPages {
		a.pages[p.ProjectID]++
	}
	for _, u := range st.Users {
		a.users[u.ID] = u
	}
	for _, m := range st.Members {
		a.members[m.ProjectID+"/"+m.UserID] = true
	}
	for _, e := range st.TimeEntries {
		a.entries[e.ID] = e
	}
	return a
}

// one is the Align id linked to an Illumera entity, recording a problem when
// there is none or more than one.
func (cmp *comparison) one(a *alignIndex, externalType, id, what string) (string, bool) {
	ids := a.links[externalType+":"+id]
	switch len(ids) {
	case 1:
		return ids[0], true
	case 0:
		cmp.problem("%s: missing in Align", what)
	default:
		cmp.problem("%s: doubled in Align (%d records: %s)", what, len(ids), strings.Join(ids, ", "))
	}
	return "", false
}

// alignProjectStatus is how Illumera's project statuses read in Align.
var alignProjectStatus = map[string]string{"draft": "on_hold", "open": "on_hold", "on_hold": "on_hold", "active": "active", "completed": "completed"}

func (cmp *comparison) projects(il *illumera, a *alignIndex) {
	projects, pages := cmp.tallies["projects"], cmp.tallies["wiki pages"]
	for _, p := range il.projects {
		projects.want++
		what := fmt.Sprintf("project %s %q (%s)", short(p.ID), p.Title, p.Status)
		id, ok := cmp.one(a, "project", p.ID, what)
		ap, found := a.projects[id]
		if ok && !found {
			cmp.problem("%s: linked to Align project %s, which does not exist", what, id)
		}
		if found && (ap.Name != p.Title || ap.Status != alignProjectStatus[p.Status] || !ap.TimeBillingEnabled) {
			cmp.problem("%s: Align has %q (%s, time billing %v)", what, ap.Name, ap.Status, ap.TimeBillingEnabled)
			found = false
		}
		if found {
			projects.matched++
		}
		if p.Status != "active" {
			continue
		}
		pages.want++
		if _, ok := cmp.one(a, "staffing_plan", p.ID, what+"'s staffing page"); ok && found && a.pages[id] == 1 {
			pages.matched++
		} else if found && a.pages[id] != 1 {
			cmp.problem("%s: %d staffing pages in Align, want 1", what, a.pages[id])
		}
	}
	projects.have, pages.have = len(a.st.Projects), len(a.st.WikiPages)
}

// users: every talent with an engagement ever accepted is one Align user;
// Align holds no other user but the organization's manager.
func (cmp *comparison) users(il *illumera, a *alignIndex) {
	t := cmp.tallies["users"]
	seen := map[string]bool{}
	for _, e := range il.engagements {
		if (e.Status != "accepted" && e.Status != "active" && e.Status != "ended") || seen[e.TalentID] {
			continue
		}
		seen[e.TalentID] = true
		t.want++
		what := fmt.Sprintf("user for talent %s", short(e.TalentID))
		if id, ok := cmp.one(a, "talent", e.TalentID, what); ok {
			if u, found := a.users[id]; found && strings.EqualFold(u.Email, il.talent[e.TalentID]) {
				t.matched++
			} else {
				cmp.problem("%s: Align user %s has email %q, want %q", what, id, u.Email, il.talent[e.TalentID])
			}
		}
	}
	t.have = len(a.st.Users) - 1 // the organization's manager
}

// members: the talent of every accepted engagement is a member of its
// project; no one else is.
func (cmp *comparison) members(il *illumera, a *alignIndex) {
	t := cmp.tallies["members"]
	want := map[string]string{} // "<project>/<user>" → the engagement
	for _, e := range il.engagements {
		if e.Status != "accepted" && e.Status != "active" {
			continue
		}
		t.want++
		pids, uids := a.links["project:"+e.ProjectID], a.links["talent:"+e.TalentID]
		if len(pids) != 1 || len(uids) != 1 {
			cmp.problem("engagement %s: its project or user is missing or doubled in Align", short(e.ID))
			continue
		}
		key := pids[0] + "/" + uids[0]
		want[key] = e.ID
		if a.members[key] {
			t.matched++
		} else {
			cmp.problem("engagement %s (accepted): talent %s is not a member of the project in Align", short(e.ID), short(e.TalentID))
		}
	}
	t.have = len(a.st.Members)
	for _, m := range a.st.Members {
		if key := m.ProjectID + "/" + m.UserID; want[key] == "" {
			cmp.problem("Align member %s of project %s: no accepted engagement in Illumera (%s)", short(m.UserID), short(m.ProjectID),
				cmp.engagementsOf(il, a, m))
		}
	}
}

// engagementsOf says what Illumera holds for an unexpected Align member.
func (cmp *comparison) engagementsOf(il *illumera, a *alignIndex, m alignsim.Member) string {
	var out []string
	for _, e := range il.engagements {
		p, u := a.links["project:"+e.ProjectID], a.links["talent:"+e.TalentID]
		if len(p) == 1 && len(u) == 1 && p[0] == m.ProjectID && u[0] == m.UserID {
			out = append(out, fmt.Sprintf("engagement %s is %s", short(e.ID), e.Status))
			cmp.strays = append(cmp.strays, e.ID)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func (cmp *comparison) entries(il *illumera, a *alignIndex) {
	t := cmp.tallies["time entries"]
	for _, e := range il.entries {
		t.want++
		what := fmt.Sprintf("time entry %s (%s, %d min)", short(e.ID), e.Status, e.Minutes)
		id, ok := cmp.one(a, "time_entry", e.ID, what)
		ae, found := a.entries[id]
		if !ok || !found {
			continue
		}
		if diff := entryDiff(e, ae, a); diff != "" {
			cmp.problem("%s: %s", what, diff)
			continue
		}
		t.matched++
		cmp.statuses[e.Status]++
	}
	t.have = len(a.st.TimeEntries)
}

// entryDiff says how an Align entry differs from Illumera's, or "".
func entryDiff(e entryRow, ae alignsim.TimeEntry, a *alignIndex) string {
	var diffs []string
	if ae.Status != e.Status {
		diffs = append(diffs, fmt.Sprintf("status in Align %s", ae.Status))
	}
	if ae.Minutes != e.Minutes || ae.WorkDate != e.WorkDate {
		diffs = append(diffs, fmt.Sprintf("Align has %d min on %s, Illumera %d min on %s", ae.Minutes, ae.WorkDate, e.Minutes, e.WorkDate))
	}
	if ae.Description == nil || !strings.Contains(*ae.Description, e.Description) {
		diffs = append(diffs, fmt.Sprintf("description in Align %s, Illumera %q", quoted(ae.Description), e.Description))
	}
	if e.Status == "rejected" && (ae.RejectionReason == nil || *ae.RejectionReason != e.Reason) {
		diffs = append(diffs, fmt.Sprintf("rejection reason in Align %s, Illumera %q", quoted(ae.RejectionReason), e.Reason))
	}
	var meta struct {
		AdjustmentOf string `json:"adjustmentOf"`
	}
	if err := json.Unmarshal(ae.ExternalMetadata, &meta); err != nil || meta.AdjustmentOf != e.AdjustmentOf {
		diffs = append(diffs, fmt.Sprintf("Align's metadata names %q as the adjusted entry, Illumera %q", meta.AdjustmentOf, e.AdjustmentOf))
	}
	if p, u := a.links["project:"+e.ProjectID], a.links["talent:"+e.TalentID]; len(p) != 1 || len(u) != 1 || ae.ProjectID != p[0] || ae.UserID != u[0] {
		diffs = append(diffs, "Align has it on another project or user")
	}
	return strings.Join(diffs, "; ")
}

// deliveries: every delivery Align counts as delivered (serve answered 2xx)
// is recorded in Illumera.
func (cmp *comparison) deliveries(st alignsim.State, ls *ledgerState) {
	for _, d := range st.Deliveries {
		cmp.webhooks[d.State]++
		if d.Duplicated {
			cmp.webhooks["duplicated"]++
		}
		if d.State == alignsim.DeliveryDelivered && !ls.deliveryIDs[d.ID] {
			cmp.problem("webhook delivery %s (%s of entry %s): Align got a 2xx, Illumera has no record", d.ID, d.EventName, short(d.TimeEntryID))
		}
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func quoted(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}
