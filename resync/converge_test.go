package resync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/internal/testenv"
)

// alignStatus is the project status the sink gives Align.
func alignStatus(s string) string {
	switch s {
	case "active", "completed":
		return s
	}
	return "on_hold"
}

// illumera is what Align must show for one company, read from its tables.
type illumera struct {
	projects map[string]string // id → "title/align status"
	active   map[string]bool   // projects with a staffing plan
	talent   map[string]bool   // provisioned talent (engagement accepted at some point)
	members  map[string]bool   // "project id/talent id" of accepted or active engagements
	entries  map[string]string // id → "minutes/status"
}

func readIllumera(ctx context.Context, env *testenv.Env, companyID string) (illumera, error) {
	w := illumera{projects: map[string]string{}, active: map[string]bool{}, talent: map[string]bool{}, members: map[string]bool{}, entries: map[string]string{}}
	err := testenv.EachRow(ctx, env.Pool, `SELECT id::text, title, status FROM projects WHERE company_id = $1`, companyID, func(r pgx.Rows) error {
		var id, title, status string
		err := r.Scan(&id, &title, &status)
		w.projects[id], w.active[id] = title+"/"+alignStatus(status), status == "active"
		return err
	})
	if err != nil {
		return w, err
	}
	err = testenv.EachRow(ctx, env.Pool, `SELECT project_id::text, talent_id::text, status FROM engagements WHERE company_id = $1`, companyID, func(r pgx.Rows) error {
		var project, talent, status string
		err := r.Scan(&project, &talent, &status)
		switch status {
		case "accepted", "active":
			w.members[project+"/"+talent] = true
			w.talent[talent] = true
		case "ended":
			w.talent[talent] = true
		}
		return err
	})
	if err != nil {
		return w, err
	}
	return w, testenv.EachRow(ctx, env.Pool, `SELECT id::text, minutes, status FROM time_entries WHERE company_id = $1`, companyID, func(r pgx.Rows) error {
		var id, status string
		var minutes int
		err := r.Scan(&id, &minutes, &status)
		w.entries[id] = fmt.Sprintf("%d/%s", minutes, status)
		return err
	})
}

// compare says how the Align org differs from the company in Illumera:
// every entity there, once (one integration link per Illumera id, as many
// Align entities as Illumera rows), with the same fields and statuses.
func compare(want illumera, s alignsim.State) error {
	var errs []error
	byRef := map[string]string{} // "type/illumera id" → Align id
	for _, l := range s.IntegrationLinks {
		k := l.ExternalType + "/" + l.ExternalID
		if _, dup := byRef[k]; dup {
			errs = append(errs, fmt.Errorf("%s is linked twice in Align", k))
		}
		byRef[k] = l.AlignEntityID
	}
	projects := map[string]alignsim.Project{}
	for _, p := range s.Projects {
		projects[p.ID] = p
	}
	if len(s.Projects) != len(want.projects) {
		errs = append(errs, fmt.Errorf("Align has %d projects, Illumera %d", len(s.Projects), len(want.projects)))
	}
	pages := map[string]int{}
	for _, p := range s.WikiPages {
		pages[p.ProjectID]++
	}
	for id, v := range want.projects {
		p, ok := projects[byRef["project/"+id]]
		if got := p.Name + "/" + p.Status; !ok || got != v {
			errs = append(errs, fmt.Errorf("project %s: Align has %q (linked: %v), want %q", id, got, ok, v))
		}
		if want.active[id] && pages[p.ID] != 1 {
			errs = append(errs, fmt.Errorf("active project %s has %d staffing plans in Align, want 1", id, pages[p.ID]))
		}
	}
	errs = append(errs, compareMembers(want, s, byRef)...)
	errs = append(errs, compareEntries(want, s)...)
	return errors.Join(errs...)
}

func compareMembers(want illumera, s alignsim.State, byRef map[string]string) []error {
	var errs []error
	if linked := len(s.Users) - 1; linked != len(want.talent) { // the org's manager is a user too
		errs = append(errs, fmt.Errorf("Align has %d users besides the manager, Illumera provisioned %d talent", linked, len(want.talent)))
	}
	got := map[string]bool{}
	for _, m := range s.Members {
		got[m.ProjectID+"/"+m.UserID] = true
	}
	wantAlign := map[string]bool{}
	for k := range want.members {
		project, talent, _ := strings.Cut(k, "/")
		wantAlign[byRef["project/"+project]+"/"+byRef["talent/"+talent]] = true
	}
	if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(sortedKeys(wantAlign)) {
		errs = append(errs, fmt.Errorf("Align members %v, want %v (project/user)", sortedKeys(got), sortedKeys(wantAlign)))
	}
	return errs
}

func compareEntries(want illumera, s alignsim.State) []error {
	var errs []error
	if len(s.TimeEntries) != len(want.entries) {
		errs = append(errs, fmt.Errorf("Align has %d time entries, Illumera %d", len(s.TimeEntries), len(want.entries)))
	}
	seen := map[string]bool{}
	for _, e := range s.TimeEntries {
		if e.ExternalID == nil {
			errs = append(errs, fmt.Errorf("Align entry %s has no externalId", e.ID))
			continue
		}
		id := *e.ExternalID
		if seen[id] {
			errs = append(errs, fmt.Errorf("entry %s is in Align twice", id))
		}
		seen[id] = true
		if got := fmt.Sprintf("%d/%s", e.Minutes, e.Status); got != want.entries[id] {
			errs = append(errs, fmt.Errorf("entry %s: Align has %s, Illumera %q", id, got, want.entries[id]))
		}
	}
	return errs
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// converged compares the company in Illumera with its Align org now.
func converged(ctx context.Context, env *testenv.Env, companyID, orgID string) error {
	want, err := readIllumera(ctx, env, companyID)
	if err != nil {
		return err
	}
	s, err := env.Align.Control.State(ctx, orgID)
	if err != nil {
		return err
	}
	return compare(want, s)
}
