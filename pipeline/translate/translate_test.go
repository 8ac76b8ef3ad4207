package translate

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

func row(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func project(status string) map[string]any {
	return row("id", "p1", "company_id", "c1", "title", "Radar", "description", "Build it", "status", status)
}

func engagement(status string) map[string]any {
	return row("id", "e1", "company_id", "c1", "project_id", "p1", "talent_id", "t1", "rate_cents", 9000, "status", status)
}

func entry(status string, minutes int) map[string]any {
	return row("id", "x1", "company_id", "c1", "engagement_id", "e1", "project_id", "p1", "talent_id", "t1",
		"work_date", "2026-11-20", "minutes", minutes, "description", "work", "status", status, "adjustment_of", nil)
}

func role(status string, hours int) map[string]any {
	return row("id", "r1", "company_id", "c1", "project_id", "p1", "title", "Go engineer", "hours_per_week", hours,
		"duration_weeks", 12, "status", status)
}

func kinds(ops []Op) []Kind {
	out := []Kind{}
	for _, o := range ops {
		out = append(out, o.Kind)
	}
	return out
}

func TestTranslate(t *testing.T) {
	adjustment := entry("draft", 30)
	adjustment["id"], adjustment["adjustment_of"] = "x2", "x1"
	retitled := project("open")
	retitled["title"] = "Radar II"
	edited := entry("rejected", 90)
	retitledActive := project("active")
	retitledActive["title"] = "Radar II"
	moved := role("open", 20)
	moved["project_id"] = "p2"
	tests := []struct {
		name   string
		change Change
		want   []Kind
	}{
		{"project inserted", Change{Table: "projects", Op: "c", After: project("draft")}, []Kind{ProjectCreate}},
		{"project inserted active writes the staffing page", Change{Table: "projects", Op: "c", After: project("active")}, []Kind{ProjectCreate, WikiWrite}},
		{"project title updated", Change{Table: "projects", Op: "u", Before: project("open"), After: retitled}, []Kind{ProjectUpdate}},
		{"project becomes active", Change{Table: "projects", Op: "u", Before: project("open"), After: project("active")}, []Kind{ProjectUpdate, WikiWrite}},
		{"project already active, other column updated", Change{Table: "projects", Op: "u", Before: project("active"), After: project("active")}, []Kind{}},
		{"project deleted", Change{Table: "projects", Op: "d", Before: project("draft")}, []Kind{}},
		{"active project retitled rewrites the staffing page", Change{Table: "projects", Op: "u", Before: project("active"), After: retitledActive}, []Kind{ProjectUpdate, WikiWrite}},
		{"role added", Change{Table: "project_roles", Op: "c", After: role("open", 20)}, []Kind{WikiWrite}},
		{"role hours changed", Change{Table: "project_roles", Op: "u", Before: role("open", 20), After: role("open", 30)}, []Kind{WikiWrite}},
		{"role filled", Change{Table: "project_roles", Op: "u", Before: role("open", 20), After: role("filled", 20)}, []Kind{WikiWrite}},
		{"role deleted", Change{Table: "project_roles", Op: "d", Before: role("open", 20)}, []Kind{WikiWrite}},
		{"role moved to another project", Change{Table: "project_roles", Op: "u", Before: role("open", 20), After: moved}, []Kind{WikiWrite, WikiWrite}},
		{"role rewritten as it was", Change{Table: "project_roles", Op: "u", Before: role("open", 20), After: role("open", 20)}, []Kind{}},
		{"engagement inserted accepted", Change{Table: "engagements", Op: "c", After: engagement("accepted")}, []Kind{UserInvite, MemberAdd}},
		{"engagement becomes accepted", Change{Table: "engagements", Op: "u", Before: engagement("invited"), After: engagement("accepted")}, []Kind{UserInvite, MemberAdd}},
		{"engagement invited", Change{Table: "engagements", Op: "c", After: engagement("invited")}, []Kind{}},
		{"engagement accepted to active", Change{Table: "engagements", Op: "u", Before: engagement("accepted"), After: engagement("active")}, []Kind{}},
		{"engagement inserted active", Change{Table: "engagements", Op: "c", After: engagement("active")}, []Kind{UserInvite, MemberAdd}},
		{"engagement invited to active", Change{Table: "engagements", Op: "u", Before: engagement("invited"), After: engagement("active")}, []Kind{UserInvite, MemberAdd}},
		{"engagement active to ended", Change{Table: "engagements", Op: "u", Before: engagement("active"), After: engagement("ended")}, []Kind{MemberRemove}},
		{"engagement active to accepted", Change{Table: "engagements", Op: "u", Before: engagement("active"), After: engagement("accepted")}, []Kind{}},
		{"engagement becomes ended", Change{Table: "engagements", Op: "u", Before: engagement("active"), After: engagement("ended")}, []Kind{MemberRemove}},
		{"time entry inserted draft", Change{Table: "time_entries", Op: "c", After: entry("draft", 60)}, []Kind{EntryCreate}},
		{"time entry inserted submitted", Change{Table: "time_entries", Op: "c", After: entry("submitted", 60)}, []Kind{EntryCreate, EntrySubmit}},
		{"time entry edited while draft", Change{Table: "time_entries", Op: "u", Before: entry("draft", 60), After: entry("draft", 75)}, []Kind{EntryUpdate}},
		{"time entry edited while rejected", Change{Table: "time_entries", Op: "u", Before: entry("rejected", 60), After: edited}, []Kind{EntryUpdate}},
		{"time entry edited while submitted", Change{Table: "time_entries", Op: "u", Before: entry("submitted", 60), After: entry("submitted", 75)}, []Kind{}},
		{"time entry becomes submitted", Change{Table: "time_entries", Op: "u", Before: entry("draft", 60), After: entry("submitted", 60)}, []Kind{EntrySubmit}},
		{"time entry resubmitted after rejection with an edit", Change{Table: "time_entries", Op: "u", Before: entry("rejected", 60), After: entry("submitted", 45)}, []Kind{EntryUpdate, EntrySubmit}},
		{"approved comes from Align: no echo", Change{Table: "time_entries", Op: "u", Before: entry("submitted", 60), After: entry("approved", 60)}, []Kind{}},
		{"rejected comes from Align: no echo", Change{Table: "time_entries", Op: "u", Before: entry("submitted", 60), After: entry("rejected", 60)}, []Kind{}},
		{"locked comes from Align: no echo", Change{Table: "time_entries", Op: "u", Before: entry("approved", 60), After: entry("locked", 60)}, []Kind{}},
		{"invoiced comes from Align: no echo", Change{Table: "time_entries", Op: "u", Before: entry("locked", 60), After: entry("invoiced", 60)}, []Kind{}},
		{"adjustment entry inserted", Change{Table: "time_entries", Op: "c", After: adjustment}, []Kind{EntryCreate}},
		{"talent changes carry no operation", Change{Table: "talent", Op: "u", After: row("id", "t1")}, []Kind{}},
		{"truncate", Change{Table: "projects", Op: "t"}, []Kind{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kinds(Translate(tt.change))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Translate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTranslateProjectCreateFields(t *testing.T) {
	for status, want := range map[string]string{"draft": "on_hold", "open": "on_hold", "on_hold": "on_hold", "active": "active", "completed": "completed"} {
		ops := Translate(Change{Table: "projects", Op: "c", After: project(status)})
		p := ops[0].Payload
		if p.Status != want || p.Title != "Radar" || p.Description == nil || *p.Description != "Build it" || p.ProjectID != "p1" {
			t.Errorf("status %s: payload %+v, want Align status %s with title and description", status, p, want)
		}
	}
}

func TestTranslateDependencies(t *testing.T) {
	adj := entry("draft", 30)
	adj["id"], adj["adjustment_of"] = "x2", "x1"
	ops := Translate(Change{Table: "time_entries", Op: "c", After: adj})
	want := []string{"project:p1", "user:t1", "member:e1", "entry:x1"}
	if !reflect.DeepEqual(ops[0].DependsOn, want) || ops[0].Payload.AdjustmentOf != "x1" {
		t.Fatalf("adjustment create depends on %v (adjustmentOf %q), want %v", ops[0].DependsOn, ops[0].Payload.AdjustmentOf, want)
	}
	ops = Translate(Change{Table: "engagements", Op: "c", After: engagement("accepted")})
	if !reflect.DeepEqual(ops[1].DependsOn, []string{"project:p1", "user:t1"}) {
		t.Fatalf("member add depends on %v", ops[1].DependsOn)
	}
	ops = Translate(Change{Table: "projects", Op: "u", Before: project("open"), After: project("active")})
	if !reflect.DeepEqual(ops[1].DependsOn, []string{"project:p1"}) {
		t.Fatalf("wiki write depends on %v", ops[1].DependsOn)
	}
}

func TestIdempotencyKeyStable(t *testing.T) {
	c := Change{Table: "projects", Op: "c", After: project("active"), CommitLSN: 0x16B37A0, Index: 3}
	a, b := Translate(c), Translate(c)
	if a[0].IdempotencyKey(c) != b[0].IdempotencyKey(c) || a[0].IdempotencyKey(c) == a[1].IdempotencyKey(c) {
		t.Fatalf("keys %q %q %q: must be stable per change and distinct per operation", a[0].IdempotencyKey(c), b[0].IdempotencyKey(c), a[1].IdempotencyKey(c))
	}
	if got := (Change{Table: "companies", After: row("id", "c9")}).CompanyID(); got != "c9" {
		t.Fatalf("company of a companies row = %q", got)
	}
}

func TestStaffingPageOperations(t *testing.T) {
	for _, c := range []Change{
		{Table: "project_roles", Op: "c", After: role("open", 20)},
		{Table: "project_roles", Op: "d", Before: role("open", 20)},
	} {
		ops := Translate(c)
		if len(ops) != 1 || ops[0].EntityID != "p1" || !ops[0].Payload.Refresh ||
			!reflect.DeepEqual(ops[0].Touches, []string{"wiki:p1"}) || !reflect.DeepEqual(ops[0].DependsOn, []string{"project:p1"}) {
			t.Fatalf("role %s: %+v, want one refresh of p1's page after the project", c.Op, ops)
		}
	}
	ops := Translate(Change{Table: "projects", Op: "u", Before: project("open"), After: project("active")})
	if ops[1].Payload.Refresh {
		t.Fatal("the page written when a project becomes active must be written whatever happens next, not as a refresh")
	}
}

// Large values pgoutput does not send again when unchanged (TOAST) come from
// the old row, or, unknown, are never sent.
func TestUnchangedLargeValues(t *testing.T) {
	without := func(r map[string]any, cols ...string) map[string]any {
		out := maps.Clone(r)
		for _, c := range cols {
			delete(out, c)
		}
		return out
	}
	// A column outside the synced ones changed: no call at all.
	after := without(project("active"), "title", "description")
	after["start_date"] = "2026-12-01"
	c := Change{Table: "projects", Op: "u", Before: project("active"), After: after, Unchanged: []string{"title", "description"}}
	if got := kinds(Translate(c)); len(got) != 0 {
		t.Fatalf("unchanged large title and description: %v, want no operation", got)
	}
	if _, there := after["title"]; there {
		t.Fatal("Translate changed the caller's row")
	}
	// The status changed: the update carries the title and description of the old row.
	c.After = without(project("completed"), "title", "description")
	ops := Translate(c)
	if len(ops) != 1 || ops[0].Payload.Title != "Radar" || ops[0].Payload.Description == nil ||
		*ops[0].Payload.Description != "Build it" || len(ops[0].Payload.Keep) != 0 || ops[0].Payload.Row["title"] != "Radar" {
		t.Fatalf("status change with unchanged large values: %+v", ops)
	}
	// No old row: the update leaves them as Align has them.
	c.Before = nil
	ops = Translate(c)
	if len(ops) != 1 || ops[0].Kind != ProjectUpdate || !reflect.DeepEqual(ops[0].Payload.Keep, []string{"title", "description"}) {
		t.Fatalf("update without old values: %+v, want a project update keeping title and description", ops)
	}

	// An entry's minutes change, then its submission, with the description unchanged.
	c = Change{Table: "time_entries", Op: "u", Before: entry("draft", 60), After: without(entry("draft", 75), "description"), Unchanged: []string{"description"}}
	ops = Translate(c)
	if len(ops) != 1 || ops[0].Kind != EntryUpdate || ops[0].Payload.Description == nil || *ops[0].Payload.Description != "work" {
		t.Fatalf("minutes edit: %+v, want an update carrying the old description", ops)
	}
	c.After = without(entry("submitted", 60), "description")
	if got := kinds(Translate(c)); !reflect.DeepEqual(got, []Kind{EntrySubmit}) {
		t.Fatalf("submission with an unchanged description = %v, want the submission alone", got)
	}
	c.Before, c.After = nil, without(entry("draft", 75), "description")
	ops = Translate(c)
	if len(ops) != 1 || ops[0].Payload.Description != nil || !ops[0].Payload.Kept("description") {
		t.Fatalf("edit without old values: %+v, want an update keeping the description", ops)
	}
}

// A removal waits for the earlier operations of entries that use the
// membership; entries do not wait for one another (see pipeline's blocking
// rule).
func TestMembershipUses(t *testing.T) {
	create := Translate(Change{Table: "time_entries", Op: "c", After: entry("submitted", 60)})
	remove := Translate(Change{Table: "engagements", Op: "u", Before: engagement("active"), After: engagement("ended")})[0]
	use := "uses:membership:p1/t1"
	for _, op := range create {
		if !slices.Contains(op.Touches, use) || slices.Contains(op.DependsOn, use) {
			t.Fatalf("%s touches %v, depends on %v: want it to use %s", op.Kind, op.Touches, op.DependsOn, use)
		}
	}
	if !slices.Contains(remove.DependsOn, use) || !IsUse(use) || IsUse("member:e1") {
		t.Fatalf("member removal depends on %v, want %s", remove.DependsOn, use)
	}
}
