// Package translate maps one captured Illumera change to the Align
// operations it calls for. It is pure: no I/O, and the same change always
// gives the same operations, so an operation's idempotency key is stable
// across redeliveries and replays.
package translate

import (
	"fmt"
	"github.com/illumera/alignsync/ingest"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/illumera/alignsync/change"
)

// Change is one captured row change, as the translator needs it.
type Change struct {
	Table     string
	Op        string // c, u, d or t
	Before    map[string]any
	After     map[string]any
	CommitLSN uint64
	Index     int
	TsMs      int64 // source commit time, for end-to-end latency
	// Unchanged names the columns After lacks because PostgreSQL did not send
	// them again: large (TOASTed) values that this update left as they were.
	Unchanged []string
}

// Filled returns the change with its unchanged columns taken from the old
// row. Those the old row lacks too stay absent from After: their value is
// unknown, and the translation leaves their Align fields alone.
func (c Change) Filled() Change {
	cloned := false
	for _, col := range c.Unchanged {
		v, ok := c.Before[col]
		if _, there := c.After[col]; !ok || there || c.After == nil {
			continue
		}
		if !cloned { // the caller's row stays as it was
			c.After, cloned = maps.Clone(c.After), true
		}
		c.After[col] = v
	}
	return c
}

// unknown reports whether the change carries no value for col: unchanged,
// and not found in the old row either.
func (c Change) unknown(col string) bool {
	_, there := c.After[col]
	return !there && slices.Contains(c.Unchanged, col)
}

// FromEnvelope is the change a message of the change topic carries.
func FromEnvelope(e change.Envelope) Change {
	return Change{Table: e.Source.Table, Op: e.Op, Before: e.Before, After: e.After,
		CommitLSN: e.Source.CommitLSN, Index: e.Index, TsMs: e.Source.TsMs, Unchanged: e.UnchangedToast}
}

// ID is the change's identity, spelled as the change package spells it.
func (c Change) ID() string { return change.ID{CommitLSN: c.CommitLSN, Index: c.Index}.String() }

// CompanyID is the tenant the change belongs to, or "" for tables that carry
// none (talent).
func (c Change) CompanyID() string {
	row := c.After
	if row == nil {
		row = c.Before
	}
	if c.Table == "companies" {
		return str(row, "id")
	}
	return str(row, "company_id")
}

// Kind names an Align operation.
type Kind string

// The operations the pipeline knows.
const (
	ProjectCreate Kind = "project.create"
	ProjectUpdate Kind = "project.update"
	WikiWrite     Kind = "wiki_page.write"
	UserInvite    Kind = "user.invite"
	MemberAdd     Kind = "project_member.add"
	MemberRemove  Kind = "project_member.remove"
	EntryCreate   Kind = "time_entry.create"
	EntryUpdate   Kind = "time_entry.update"
	EntrySubmit   Kind = "time_entry.submit"
)

// EntityType is the outbox entity_type of an operation kind.
func (k Kind) EntityType() string {
	switch k {
	case ProjectCreate, ProjectUpdate:
		return "project"
	case WikiWrite:
		return "wiki_page"
	case UserInvite:
		return "user"
	case MemberAdd, MemberRemove:
		return "project_member"
	default:
		return "time_entry"
	}
}

// Payload is what an operation needs at execution time. Rows that must be
// current when the call is made (the talent's email, the engagement's rate,
// the open roles) are read then, not here.
type Payload struct {
	ProjectID    string  `json:"projectId,omitempty"`
	TalentID     string  `json:"talentId,omitempty"`
	EngagementID string  `json:"engagementId,omitempty"`
	EntryID      string  `json:"entryId,omitempty"`
	AdjustmentOf string  `json:"adjustmentOf,omitempty"`
	Title        string  `json:"title,omitempty"`
	Description  *string `json:"description,omitempty"`
	Status       string  `json:"status,omitempty"` // Align's project status
	Minutes      int     `json:"minutes,omitempty"`
	WorkDate     string  `json:"workDate,omitempty"`
	// Keep names the fields ("title", "description") an update must leave as
	// Align has them: their Illumera value did not come with the change. Such
	// a field is never sent, least of all as empty.
	Keep []string `json:"keep,omitempty"`
	// Refresh: rewrite the staffing page only if the project is active when
	// the operation runs (a role or the title changed), never create one for
	// a project that is not.
	Refresh bool `json:"refresh,omitempty"`
	// Row is the source row after the change: what was last synced, for
	// comparing when a later change arrives without old values.
	Row map[string]any `json:"row,omitempty"`
}

// Kept reports whether an update must leave the field as Align has it.
func (p Payload) Kept(field string) bool { return slices.Contains(p.Keep, field) }

// Op is one Align operation derived from a change.
type Op struct {
	Kind     Kind
	EntityID string // the Illumera id the operation is about
	Payload  Payload
	// Touches are the entity keys this operation changes; DependsOn the keys
	// whose earlier operations must be done first. An earlier unfinished
	// operation P blocks a later Q when a key P touches is one Q touches or
	// depends on, except that a use key (IsUse) P touches blocks only the
	// operations that depend on it.
	Touches   []string
	DependsOn []string
}

// IdempotencyKey is stable across redeliveries and replays of the change.
func (o Op) IdempotencyKey(c Change) string { return c.ID() + "/" + string(o.Kind) }

// EntityID is the id of the changed row.
func (c Change) EntityID() string {
	row := c.After
	if row == nil {
		row = c.Before
	}
	return str(row, "id")
}

// TableEntity is the outbox entity type of a synced table's rows: what an
// update arriving without old values is compared against. A role's
// operations are its project's page and carry no row: a role update without
// old values counts as a change.
func TableEntity(table string) string {
	switch table {
	case "projects":
		return "project"
	case "project_roles":
		return "wiki_page"
	case "engagements":
		return "project_member"
	}
	return "time_entry"
}

// Entity keys: the unit of ordering inside a company's lane.
func projectKey(id string) string { return "project:" + id }
func userKey(id string) string    { return "user:" + id }
func memberKey(id string) string  { return "member:" + id }
func entryKey(id string) string   { return "entry:" + id }
func wikiKey(id string) string    { return "wiki:" + id }

// usePrefix marks a use key: touched by operations that need an Align entity
// to stay while they run, without changing it. Uses do not wait for one
// another; an operation that ends the entity depends on its use key, and so
// waits for every earlier unfinished use.
const usePrefix = "uses:"

// IsUse reports whether an entity key is a use key.
func IsUse(key string) bool { return strings.HasPrefix(key, usePrefix) }

// membershipUse is the use key of a talent's membership of a project in
// Align, which several engagements of the talent on the project share: a
// time entry's operations may add the talent back (the runner makes sure of
// the membership), so a removal must come after them.
func membershipUse(projectID, talentID string) string {
	return usePrefix + "membership:" + projectID + "/" + talentID
}

// submit is the operation that submits an existing entry for approval.
func submit(row map[string]any) Op {
	id := str(row, "id")
	return Op{Kind: EntrySubmit, EntityID: id, Payload: Payload{EntryID: id, Row: row},
		Touches: []string{entryKey(id), membershipUse(str(row, "project_id"), str(row, "talent_id"))}}
}

// Translate maps a change to the Align operations it calls for. It is pure:
// the same change always gives the same operations. For an update without old
// values the caller passes what was last synced as c.Before; unchanged
// columns are taken from it (Filled).
func Translate(c Change) []Op {
	switch {
	case c.Op == change.OpTruncate:
		return nil // truncates have no Align counterpart
	case c.Table == "project_roles":
		return translateRole(c.Filled()) // a role's deletion changes the staffing plan too
	case c.Op == change.OpDelete:
		return nil // other deletes have no Align counterpart
	}
	c = c.Filled()
	switch c.Table {
	case "projects":
		return translateProject(c)
	case "engagements":
		return translateEngagement(c)
	case "time_entries":
		return translateEntry(c)
	}
	return nil
}

func str(row map[string]any, key string) string {
	switch v := row[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

func optStr(row map[string]any, key string) *string {
	if row[key] == nil {
		return nil
	}
	s := str(row, key)
	return &s
}

func integer(row map[string]any, key string) int {
	n, _ := strconv.Atoi(str(row, key))
	return n
}

// changed reports whether any of cols differs between the old and the new
// row; with no old row everything counts as changed. A column whose value is
// unknown (unchanged, and not in the old row) has not changed.
func changed(c Change, cols ...string) bool {
	if c.Before == nil {
		return true
	}
	for _, k := range cols {
		if c.unknown(k) {
			continue
		}
		if str(c.Before, k) != str(c.After, k) || (c.Before[k] == nil) != (c.After[k] == nil) {
			return true
		}
	}
	return false
}

// becomes reports a transition of status into to: inserted so, or updated to
// it from another value.
func becomes(c Change, to string) bool {
	if str(c.After, "status") != to {
		return false
	}
	return c.Op == change.OpCreate || c.Before == nil || str(c.Before, "status") != to
}

// EntrySync are the operations that bring one time entry, as its row is now,
// into Align: create it, and submit it unless it is a draft. Reconciliation
// and resync use it for entries Align never received.
func EntrySync(row map[string]any) []Op {
	after := make(map[string]any, len(row))
	for k, v := range row {
		after[k] = v
	}
	after["status"] = ingest.StatusDraft
	ops := Translate(Change{Table: "time_entries", Op: change.OpCreate, After: after})
	if str(row, "status") != ingest.StatusDraft {
		ops = append(ops, submit(row))
	}
	return ops
}
