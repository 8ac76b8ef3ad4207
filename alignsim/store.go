package alignsim

import (
	"slices"
	"strings"
	"time"
)

// store holds every organization plus global indexes by id, so that paths
// naming an entity directly (/time-entries/:id) never scan.
type store struct {
	orgs      map[string]*org
	orgOrder  []*org
	keys      map[string]*apiKey // by secret
	keysByID  map[string]*apiKey
	projects  map[string]*project
	users     map[string]*user
	entries   map[string]*timeEntry
	wikiPages map[string]*wikiPage
	webhooks  map[string]*webhook
}

func newStore() *store {
	return &store{
		orgs:      map[string]*org{},
		keys:      map[string]*apiKey{},
		keysByID:  map[string]*apiKey{},
		projects:  map[string]*project{},
		users:     map[string]*user{},
		entries:   map[string]*timeEntry{},
		wikiPages: map[string]*wikiPage{},
		webhooks:  map[string]*webhook{},
	}
}

func (st *store) addOrg(o *org) {
	o.usersByEmail = map[string]*user{}
	o.linksByRef = map[extRef]*link{}
	o.linksByEntity = map[string][]*link{}
	st.orgs[o.id] = o
	st.orgOrder = append(st.orgOrder, o)
}

func (st *store) addKey(k *apiKey) {
	st.keys[k.secret] = k
	st.keysByID[k.id] = k
}

func (st *store) addProject(o *org, p *project) {
	p.memberByUser = map[string]*member{}
	st.projects[p.id] = p
	o.projects = append(o.projects, p)
}

func (st *store) addUser(o *org, u *user) {
	st.users[u.id] = u
	o.users = append(o.users, u)
	o.usersByEmail[strings.ToLower(u.email)] = u
}

func (st *store) addEntry(o *org, p *project, e *timeEntry) {
	st.entries[e.id] = e
	o.entries = append(o.entries, e)
	p.entries = append(p.entries, e)
}

func (st *store) addWikiPage(p *project, w *wikiPage) {
	st.wikiPages[w.id] = w
	p.wikiPages = append(p.wikiPages, w)
}

func (st *store) addLink(o *org, ref extRef, entityType, entityID string, now time.Time) {
	l := &link{ref: ref, entityType: entityType, entityID: entityID, createdAt: now}
	o.links = append(o.links, l)
	o.linksByRef[ref] = l
	o.linksByEntity[entityID] = append(o.linksByEntity[entityID], l)
}

func (st *store) addWebhook(o *org, wh *webhook) {
	st.webhooks[wh.id] = wh
	o.webhooks = append(o.webhooks, wh)
}

func (st *store) removeWebhook(o *org, wh *webhook) {
	delete(st.webhooks, wh.id)
	o.webhooks = slices.DeleteFunc(o.webhooks, func(x *webhook) bool { return x == wh })
}

// The lookups below answer nil for an id of another organization, which the
// API reports as 404 exactly like an absent one.

func (st *store) project(o *org, id string) *project {
	if p := st.projects[id]; p != nil && p.orgID == o.id {
		return p
	}
	return nil
}

func (st *store) user(o *org, id string) *user {
	if u := st.users[id]; u != nil && u.orgID == o.id {
		return u
	}
	return nil
}

func (st *store) entry(o *org, id string) *timeEntry {
	if e := st.entries[id]; e != nil && e.orgID == o.id {
		return e
	}
	return nil
}

func (st *store) wikiPage(o *org, id string) *wikiPage {
	if w := st.wikiPages[id]; w != nil && w.orgID == o.id {
		return w
	}
	return nil
}

func (st *store) webhook(o *org, id string) *webhook {
	if wh := st.webhooks[id]; wh != nil && wh.orgID == o.id {
		return wh
	}
	return nil
}
