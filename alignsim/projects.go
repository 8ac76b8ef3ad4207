package alignsim

import "github.com/google/uuid"

var projectStatuses = []string{"active", "on_hold", "completed", "archived"}

func listProjects(c *call) (reply, error) {
	pg, err := parsePage(c.query)
	if err != nil {
		return reply{}, err
	}
	items := c.org.projects
	if c.key.scope == scopeProject { // "own only" (align-contract.md §2)
		items = nil
		if p := c.s.st.project(c.org, c.key.projectID); p != nil {
			items = []*project{p}
		}
	}
	return replyOK(listOf(items, pg, viewProject)), nil
}

func getProject(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	return replyOK(viewProject(p)), nil
}

func createProject(c *call) (reply, error) {
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	p := &project{id: uuid.NewString(), orgID: c.org.id, status: "active", createdAt: c.now, updatedAt: c.now}
	p.name = f.reqString("name")
	p.description, _ = f.nullableString("description")
	if status, ok := f.optEnum("status", projectStatuses); ok {
		p.status = status
	}
	p.timeBillingEnabled = f.boolOr("timeBillingEnabled", false)
	ref := f.externalRef()
	if err := f.done(); err != nil {
		return reply{}, err
	}
	existing, err := c.replayed(ref, entityProject)
	if err != nil {
		return reply{}, err
	}
	if existing != "" {
		return replyOK(viewProject(c.s.st.projects[existing])), nil
	}
	c.s.st.addProject(c.org, p)
	c.linkRef(ref, entityProject, p.id)
	return replyCreated(viewProject(p)), nil
}

func patchProject(c *call) (reply, error) {
	p, err := c.pathProject()
	if err != nil {
		return reply{}, err
	}
	f, err := c.fields()
	if err != nil {
		return reply{}, err
	}
	next := *p
	if f.present("name") {
		next.name = f.reqString("name")
	}
	if desc, set := f.nullableString("description"); set {
		next.description = desc
	}
	if status, ok := f.optEnum("status", projectStatuses); ok {
		next.status = status
	}
	if billing, ok := f.optBool("timeBillingEnabled"); ok {
		next.timeBillingEnabled = billing
	}
	if err := f.done(); err != nil {
		return reply{}, err
	}
	for _, name := range []string{"name", "description", "status", "timeBillingEnabled"} {
		if f.present(name) {
			next.updatedAt = c.now
		}
	}
	*p = next
	return replyOK(viewProject(p)), nil
}
