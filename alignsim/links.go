package alignsim

// externalRef reads the optional {"provider","externalType","externalId"}
// object that makes creates replayable.
func (f *fields) externalRef() *extRef {
	sub, ok := f.optObject("externalRef")
	if !ok {
		return nil
	}
	ref := extRef{
		provider:     sub.reqString("provider"),
		externalType: sub.reqString("externalType"),
		externalID:   sub.reqString("externalId"),
	}
	if f.failed() {
		return nil
	}
	return &ref
}

// replayed returns the id of the entity ref already links to, or "". The
// reference is unique per organization across entity types, so one that
// links an entity of another type is a client mistake (400).
func (c *call) replayed(ref *extRef, entityType string) (string, error) {
	if ref == nil {
		return "", nil
	}
	l := c.org.linksByRef[*ref]
	if l == nil {
		return "", nil
	}
	if l.entityType != entityType {
		return "", errValidation("externalRef: already links a %s (%s)", l.entityType, l.entityID)
	}
	return l.entityID, nil
}

// linkRef records the integration link of a write that carried ref.
func (c *call) linkRef(ref *extRef, entityType, entityID string) {
	if ref != nil {
		c.s.st.addLink(c.org, *ref, entityType, entityID, c.now)
	}
}

func listLinks(c *call) (reply, error) {
	pg, err := parsePage(c.query)
	if err != nil {
		return reply{}, err
	}
	want := extRef{c.query.Get("provider"), c.query.Get("externalType"), c.query.Get("externalId")}
	candidates := c.org.links
	if want.provider != "" && want.externalType != "" && want.externalID != "" {
		candidates = nil // the lookup a client does after a crash: no scan
		if l := c.org.linksByRef[want]; l != nil {
			candidates = []*link{l}
		}
	}
	var items []*link
	for _, l := range candidates {
		if linkMatches(l, want) && c.linkVisible(l) {
			items = append(items, l)
		}
	}
	return replyOK(listOf(items, pg, viewLink)), nil
}

func linkMatches(l *link, want extRef) bool {
	return (want.provider == "" || l.ref.provider == want.provider) &&
		(want.externalType == "" || l.ref.externalType == want.externalType) &&
		(want.externalID == "" || l.ref.externalID == want.externalID)
}

// linkVisible filters links for project keys to those whose entity belongs
// to the key's project; a user belongs to the projects it is a member of.
func (c *call) linkVisible(l *link) bool {
	if c.key.scope == scopeOrganization {
		return true
	}
	st, pid := c.s.st, c.key.projectID
	switch l.entityType {
	case entityProject:
		return l.entityID == pid
	case entityUser:
		p := st.project(c.org, pid)
		return p != nil && p.memberByUser[l.entityID] != nil
	case entityTimeEntry:
		e := st.entry(c.org, l.entityID)
		return e != nil && e.projectID == pid
	case entityWikiPage:
		w := st.wikiPage(c.org, l.entityID)
		return w != nil && w.projectID == pid
	}
	return false
}

// entityLinks lists the links of one entity, for GET /integration/time-entries/:id.
func (c *call) entityLinks(entityID string) []linkView {
	out := []linkView{}
	for _, l := range c.org.linksByEntity[entityID] {
		out = append(out, viewLink(l))
	}
	return out
}
