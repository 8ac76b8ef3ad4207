package alignsim

// entryPatch is a validated PATCH /time-entries/:id body. hours is not
// accepted on PATCH and is ignored like any unknown field.
type entryPatch struct {
	minutes     *int
	workDate    *string
	description *string
	descSet     bool
	billable    *bool
	status      string // "" when absent
}

func (p entryPatch) edits() bool {
	return p.minutes != nil || p.workDate != nil || p.descSet || p.billable != nil
}

// patchEntry edits and/or submits an entry: 404, then 402, then 400, then
// 409, and nothing changes unless everything is allowed.
func patchEntry(c *call) (reply, error) {
	e, err := c.pathEntry()
	if err != nil {
		return reply{}, err
	}
	if err := c.requireTimeTracking(); err != nil {
		return reply{}, err
	}
	p, err := parseEntryPatch(c)
	if err != nil {
		return reply{}, err
	}
	if p.edits() && !editable(e.status) {
		return reply{}, errTransition("a %s time entry cannot be edited", e.status)
	}
	if p.status != "" && (p.status != statusSubmitted || !canMove(e.status, statusSubmitted)) {
		return reply{}, errTransition("a %s time entry cannot become %s through the API", e.status, p.status)
	}
	if err := applyEdits(e, p, c); err != nil {
		return reply{}, err
	}
	if p.status != "" {
		if err := c.s.move(c.org, e, p.status, nil, c.now); err != nil {
			return reply{}, err
		}
	}
	return replyOK(viewEntry(e)), nil
}

func parseEntryPatch(c *call) (entryPatch, error) {
	f, err := c.fields()
	if err != nil {
		return entryPatch{}, err
	}
	var p entryPatch
	if m, ok := f.minutes("minutes"); ok {
		p.minutes = &m
	}
	if d, ok := f.optDate("workDate"); ok {
		p.workDate = &d
	}
	if f.present("description") {
		p.description, p.descSet = f.description(), true
	}
	if b, ok := f.optBool("billable"); ok {
		p.billable = &b
	}
	p.status, _ = f.optEnum("status", entryStatuses)
	return p, f.done()
}

func applyEdits(e *timeEntry, p entryPatch, c *call) error {
	if !p.edits() {
		return nil
	}
	if p.minutes != nil {
		cost, err := costCents(e.externalMetadata, *p.minutes)
		if err != nil {
			return err
		}
		e.minutes, e.costCents = *p.minutes, cost
	}
	if p.workDate != nil {
		e.workDate = *p.workDate
	}
	if p.descSet {
		e.description = p.description
	}
	if p.billable != nil {
		e.billable = *p.billable
	}
	e.updatedAt = c.now
	return nil
}
