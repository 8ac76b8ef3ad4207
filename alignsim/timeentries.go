package alignsim

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/google/uuid"
)

const maxDescription = 2000

// entryInput is a validated create request from either create endpoint.
type entryInput struct {
	projectID   string
	userID      string
	workDate    string
	minutes     int
	billable    bool
	description *string
	entryID     *string
	ref         *extRef // externalSystem = ref.provider, externalId = ref.externalID
	metadata    json.RawMessage
}

// createIntegrationEntry is POST /integration/time-entries (org keys only).
func createIntegrationEntry(c *call) (reply, error) {
	if err := c.requireTimeTracking(); err != nil {
		return reply{}, err
	}
	in, err := parseIntegrationEntry(c)
	if err != nil {
		return reply{}, err
	}
	p := c.s.st.project(c.org, in.projectID)
	if p == nil {
		return reply{}, errValidation("projectId: unknown project %s", in.projectID)
	}
	if err := c.checkMember(p, in.userID); err != nil {
		return reply{}, err
	}
	return c.createEntry(p, in)
}

func parseIntegrationEntry(c *call) (entryInput, error) {
	f, err := c.fields()
	if err != nil {
		return entryInput{}, err
	}
	in := entryInput{projectID: f.reqUUID("projectId"), userID: f.reqUUID("userId"), workDate: f.reqDate("workDate")}
	if m, ok := f.minutes("minutes"); ok {
		in.minutes = m
	} else {
		f.fail("minutes", "is required")
	}
	in.billable = f.boolOr("billable", true)
	in.description = f.description()
	if id, ok := f.optString("entryId"); ok {
		if _, valid := canonicalUUID(id); !valid {
			f.fail("entryId", "must be a UUID")
		}
		in.entryID = &id // stored as sent: it is the caller's ticket reference
	}
	in.ref = &extRef{provider: f.reqString("externalSystem"), externalType: entityTimeEntry, externalID: f.reqString("externalId")}
	in.metadata = f.raw("externalMetadata")
	return in, f.done()
}

// createProjectEntry is POST /projects/:id/time-entries.
func createProjectEntry(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	if err := c.requireTimeTracking(); err != nil {
		return reply{}, err
	}
	in, err := parseProjectEntry(c)
	if err != nil {
		return reply{}, err
	}
	in.projectID = p.id
	if err := c.checkMember(p, in.userID); err != nil {
		return reply{}, err
	}
	return c.createEntry(p, in)
}

func parseProjectEntry(c *call) (entryInput, error) {
	f, err := c.fields()
	if err != nil {
		return entryInput{}, err
	}
	in := entryInput{userID: f.reqUUID("userId"), workDate: f.reqDate("workDate")}
	if m, ok := f.minutes("minutes"); ok { // minutes wins over hours
		in.minutes = m
	} else if m, ok := f.hoursAsMinutes("hours"); ok {
		in.minutes = m
	} else {
		f.fail("minutes", "or hours is required")
	}
	in.billable = f.boolOr("billable", true)
	in.description = f.description()
	in.ref = f.externalRef()
	return in, f.done()
}

func (f *fields) description() *string {
	d, _ := f.nullableString("description")
	if d != nil && utf8.RuneCountInString(*d) > maxDescription {
		f.fail("description", "must be at most %d characters", maxDescription)
	}
	return d
}

// checkMember: an entry's user must exist and be a member of its project.
func (c *call) checkMember(p *project, userID string) error {
	if c.s.st.user(c.org, userID) == nil {
		return errValidation("userId: unknown user %s", userID)
	}
	if p.memberByUser[userID] == nil {
		return errValidation("userId: user %s is not a member of project %s", userID, p.id)
	}
	return nil
}

// createEntry stores a draft entry, or answers 200 with the entry its
// reference already links to.
func (c *call) createEntry(p *project, in entryInput) (reply, error) {
	cost, err := costCents(in.metadata, in.minutes)
	if err != nil {
		return reply{}, err
	}
	existing, err := c.replayed(in.ref, entityTimeEntry)
	if err != nil {
		return reply{}, err
	}
	if existing != "" {
		e := c.s.st.entries[existing]
		if !c.visible(e.projectID) {
			return reply{}, errValidation("externalRef: already links a time entry of another project")
		}
		return replyOK(viewEntry(e)), nil
	}
	e := &timeEntry{
		id: uuid.NewString(), orgID: c.org.id, projectID: p.id, userID: in.userID, entryID: in.entryID,
		workDate: in.workDate, minutes: in.minutes, description: in.description, billable: in.billable,
		status: statusDraft, externalMetadata: in.metadata, costCents: cost, createdAt: c.now, updatedAt: c.now,
	}
	if in.ref != nil {
		e.externalSystem, e.externalID = &in.ref.provider, &in.ref.externalID
	}
	c.s.st.addEntry(c.org, p, e)
	c.linkRef(in.ref, entityTimeEntry, e.id)
	return replyCreated(viewEntry(e)), nil
}

// pathEntry is the entry named by /time-entries/{id}; a project key naming
// another project's entry is refused (inScope).
func (c *call) pathEntry() (*timeEntry, error) {
	e := c.s.st.entry(c.org, c.params[0])
	if e == nil {
		return nil, errNotFound("time entry %s not found", c.params[0])
	}
	if err := c.inScope(e.projectID); err != nil {
		return nil, err
	}
	return e, nil
}

func getEntry(c *call) (reply, error) {
	e, err := c.pathEntry()
	if err != nil {
		return reply{}, err
	}
	return replyOK(viewEntry(e)), nil
}

type integrationEntryView struct {
	entryView
	IntegrationLinks []linkView `json:"integrationLinks"`
}

func getIntegrationEntry(c *call) (reply, error) {
	e, err := c.pathEntry()
	if err != nil {
		return reply{}, err
	}
	return replyOK(integrationEntryView{viewEntry(e), c.entityLinks(e.id)}), nil
}
