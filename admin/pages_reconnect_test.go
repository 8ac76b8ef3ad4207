package admin_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
)

// Issue 13 point 4 in the page: a connected company's settings page offers
// Replace key; saving a new key keeps the connection (no disconnect, the sync
// position stays) and a refused key leaves it as it was, its error next to
// the field.
func TestReplaceKeyPage(t *testing.T) {
	s := newStack(t)
	c := s.syncedCompany()
	pc := s.login(c.company, admin.RoleCompanyAdmin)
	path := integrationPath(c.company)
	lsn := s.connectedLSN(c.company)

	code, body := pc.get(path)
	if code != http.StatusOK || !strings.Contains(body, `<h2 id="replace-heading">Replace key</h2>`) ||
		!strings.Contains(body, `<form class="replace" method="post" action="`+path+`/connect"`) ||
		!strings.Contains(body, `<label for="api_key">New API key</label>`) || !strings.Contains(body, `id="replace-key"`) {
		t.Fatalf("a connected company's page offers no Replace key form: %d\n%s", code, body)
	}
	csrf := csrfRe.FindStringSubmatch(body)[1]

	noHooks := s.mint(alignsim.KeyRequest{Permissions: []string{alignsim.PermReadProject}})
	code, body = pc.post(path+"/connect", url.Values{"csrf_token": {csrf}, "api_key": {noHooks.Key}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `<p class="field-error" id="api_key_error">Webhook registration failed</p>`) ||
		!strings.Contains(body, `id="replace-key"`) || !strings.Contains(body, `status-connected">Connected<`) {
		t.Fatalf("a refused replacement: %d\n%s", code, body)
	}

	fresh := s.mint(alignsim.KeyRequest{Name: "fresh"})
	resp, _ := pc.do(http.MethodPost, path+"/connect", url.Values{"csrf_token": {csrf}, "api_key": {fresh.Key}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?notice=key-replaced" {
		t.Fatalf("replacing the key: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = pc.get(resp.Header.Get("Location"))
	if !strings.Contains(body, `id="notice">API key replaced. The connection stayed connected`) ||
		!strings.Contains(body, "…"+fresh.Key[len(fresh.Key)-4:]) {
		t.Fatalf("the page after the replacement:\n%s", body)
	}
	if got := s.connectedLSN(c.company); got != lsn {
		t.Fatalf("connected_lsn moved %s → %s", lsn, got)
	}
	if key, _ := s.srv.Connections().APIKey(context.Background(), c.company); key != fresh.Key {
		t.Fatal("the sink would not use the new key")
	}
	if s.linkOf(c.company, "project", c.project) != c.alignProject {
		t.Fatal("a key replacement touched the links")
	}
	assertNoSecret(t, s, noHooks.Key, fresh.Key)
}

// Issue 13 point 3 in the page: a key of another organization leads to a
// confirmation step naming both organizations; confirming with the key
// retires the links and connects to the new organization. The confirmation
// holds for that organization only, and the key never appears in a page.
func TestStartOverPage(t *testing.T) {
	s := newStack(t)
	c := s.syncedCompany()
	pc := s.login(c.company, admin.RoleCompanyAdmin)
	path := integrationPath(c.company)
	csrf := pc.csrf(path)
	orgA := s.org.OrganizationID
	orgB, err := s.ctl.CreateOrg(context.Background(), "Beta", true)
	if err != nil {
		t.Fatal(err)
	}
	orgC, err := s.ctl.CreateOrg(context.Background(), "Gamma", true)
	if err != nil {
		t.Fatal(err)
	}

	code, body := pc.post(path+"/connect", url.Values{"csrf_token": {csrf}, "api_key": {orgB.OrgKey}})
	if code != http.StatusConflict || !strings.Contains(body, "<h1>Start over in another Align organization?</h1>") {
		t.Fatalf("a key of another organization: %d\n%s", code, body)
	}
	for _, want := range []string{
		`<code id="previous-organization">` + orgA + `</code>`,
		`<code id="new-organization">` + orgB.OrganizationID + `</code>`,
		`<input type="hidden" name="start_over_organization" value="` + orgB.OrganizationID + `">`,
		`id="confirm-start-over">Start over in ` + orgB.OrganizationID + `</button>`,
		`The 3 entity links into <code>` + orgA + `</code> are retired`,
		html.EscapeString("This API key belongs to Align organization " + orgB.OrganizationID),
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the confirmation lacks %q:\n%s", want, body)
		}
	}
	if s.retiredCount(c.company, orgA) != 0 || s.linkOf(c.company, "project", c.project) != c.alignProject {
		t.Fatal("links retired before the admin confirmed")
	}

	// Confirming B with a key of C asks again, for C.
	code, body = pc.post(path+"/connect", url.Values{"csrf_token": {csrf}, "api_key": {orgC.OrgKey},
		"start_over_organization": {orgB.OrganizationID}})
	if code != http.StatusConflict || !strings.Contains(body, `<code id="new-organization">`+orgC.OrganizationID+`</code>`) ||
		s.retiredCount(c.company, orgA) != 0 {
		t.Fatalf("a confirmation for B accepted a key of C: %d", code)
	}

	resp, _ := pc.do(http.MethodPost, path+"/connect", url.Values{"csrf_token": {csrf}, "api_key": {orgB.OrgKey},
		"start_over_organization": {orgB.OrganizationID}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?notice=started-over" {
		t.Fatalf("confirming the start over: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = pc.get(resp.Header.Get("Location"))
	if !strings.Contains(body, `<code>`+orgB.OrganizationID+`</code>`) || !strings.Contains(body, "links into the previous organization are retired") {
		t.Fatalf("the page after the start over:\n%s", body)
	}
	if s.retiredCount(c.company, orgA) != 3 || s.linkOf(c.company, "project", c.project) != "" {
		t.Fatal("links not retired")
	}
	assertNoSecret(t, s, s.org.OrgKey, orgB.OrgKey, orgC.OrgKey)
}
