package alignsim

import "github.com/google/uuid"

func listWikiPages(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	pg, err := parsePage(c.query)
	if err != nil {
		return reply{}, err
	}
	return replyOK(listOf(p.wikiPages, pg, viewWikiPage)), nil
}

// createWikiPage answers 200 with the existing page, not updated, when the
// externalRef was seen before; PATCH is how a client refreshes a page.
func createWikiPage(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	w := &wikiPage{id: uuid.NewString(), orgID: c.org.id, projectID: p.id, createdAt: c.now, updatedAt: c.now}
	w.title = f.reqString("title")
	w.content, _ = f.nullableString("content")
	ref := f.externalRef()
	if err := f.done(); err != nil {
		return reply{}, err
	}
	existing, err := c.replayed(ref, entityWikiPage)
	if err != nil {
		return reply{}, err
	}
	if existing != "" {
		old := c.s.st.wikiPages[existing]
		if !c.visible(old.projectID) {
			return reply{}, errValidation("externalRef: already links a wiki page of another project")
		}
		return replyOK(viewWikiPage(old)), nil
	}
	c.s.st.addWikiPage(p, w)
	c.linkRef(ref, entityWikiPage, w.id)
	return replyCreated(viewWikiPage(w)), nil
}

func patchWikiPage(c *call) (reply, error) {
	w := c.s.st.wikiPage(c.org, c.params[0])
	if w == nil {
		return reply{}, errNotFound("wiki page %s not found", c.params[0])
	}
	if err := c.inScope(w.projectID); err != nil {
		return reply{}, err
	}
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	title, content := w.title, w.content
	if f.present("title") {
		title = f.reqString("title")
	}
	contentSet := false
	if v, set := f.nullableString("content"); set {
		content, contentSet = v, true
	}
	if err := f.done(); err != nil {
		return reply{}, err
	}
	if f.present("title") || contentSet {
		w.title, w.content, w.updatedAt = title, content, c.now
	}
	return replyOK(viewWikiPage(w)), nil
}
