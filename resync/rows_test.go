package resync

import (
	"testing"

	"github.com/illumera/alignsync/pipeline/translate"
)

// kinds translates c the way the ledger adapter does.
func kinds(c change) []string {
	var out []string
	for _, op := range translate.Translate(translate.Change{Table: c.table, Op: c.op, Before: c.before, After: c.after}) {
		out = append(out, string(op.Kind))
	}
	return out
}

func TestChangeFor(t *testing.T) {
	project := map[string]any{"id": "p1", "company_id": "c1", "title": "Apollo", "status": "active"}
	entry := map[string]any{"id": "e1", "company_id": "c1", "engagement_id": "g1", "project_id": "p1", "talent_id": "t1",
		"work_date": "2026-11-20", "minutes": 60, "status": "draft"}
	engagement := map[string]any{"id": "g1", "company_id": "c1", "project_id": "p1", "talent_id": "t1", "status": "accepted"}
	for _, tc := range []struct {
		name  string
		table string
		now   map[string]any
		last  map[string]any
		want  []string
	}{
		{"a project never synced is created (patched when it exists) with its staffing plan", "projects", project, nil,
			[]string{"project.create", "wiki_page.write"}},
		{"a synced active project renamed in the gap is updated, and its staffing page", "projects", with(project, "title", "Apollo 2"), project,
			[]string{"project.update", "wiki_page.write"}},
		{"a synced project unchanged gets nothing", "projects", project, project, nil},
		{"a project that became active in the gap gets its plan", "projects", project, with(project, "status", "open"),
			[]string{"project.update", "wiki_page.write"}},
		{"an engagement accepted in the gap provisions user and membership", "engagements", engagement, nil,
			[]string{"user.invite", "project_member.add"}},
		{"an engagement accepted then started in the gap too", "engagements", with(engagement, "status", "active"), nil,
			[]string{"user.invite", "project_member.add"}},
		{"an engagement ended in the gap loses its membership", "engagements", with(engagement, "status", "ended"), engagement,
			[]string{"project_member.remove"}},
		{"an engagement never synced and ended removes what an entry may have added", "engagements", with(engagement, "status", "ended"), nil,
			[]string{"project_member.remove"}},
		{"an invited engagement gets nothing", "engagements", with(engagement, "status", "invited"), nil, nil},
		{"an entry created and submitted in the gap is created and submitted", "time_entries", with(entry, "status", "submitted"), nil,
			[]string{"time_entry.create", "time_entry.submit"}},
		{"a draft edited and submitted in the gap is updated, then submitted", "time_entries",
			with(with(entry, "minutes", 75), "status", "submitted"), entry, []string{"time_entry.update", "time_entry.submit"}},
		{"a submitted entry edited (after a rejection) is updated and resubmitted", "time_entries",
			with(with(entry, "minutes", 75), "status", "submitted"), with(entry, "status", "submitted"),
			[]string{"time_entry.update", "time_entry.submit"}},
		{"an entry approved in Align gets nothing (no echo)", "time_entries", with(entry, "status", "approved"), with(entry, "status", "submitted"), nil},
		{"a rejected entry is not resubmitted by a resync", "time_entries", with(entry, "status", "rejected"), with(entry, "status", "submitted"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := kinds(changeFor(row{table: tc.table, id: "x", data: tc.now}, tc.last))
			if len(got) != len(tc.want) {
				t.Fatalf("operations %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("operations %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestRowKeyFollowsTheRowVersion(t *testing.T) {
	r := row{table: "projects", id: "p1", data: map[string]any{"id": "p1", "title": "A", "updated_at": "2026-11-25T10:00:00+00:00"}}
	same := row{table: "projects", id: "p1", data: map[string]any{"updated_at": "2026-11-25T10:00:00+00:00", "title": "A", "id": "p1"}}
	if r.key() != same.key() {
		t.Errorf("the same row version gives two keys: %s, %s", r.key(), same.key())
	}
	if later := (row{table: "projects", id: "p1", data: with(r.data, "updated_at", "2026-11-25T11:00:00+00:00")}); later.key() == r.key() {
		t.Errorf("a later version of the row keeps the key %s", r.key())
	}
}
