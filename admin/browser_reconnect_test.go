package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
)

// A company admin, in a real browser, replaces the key of a connected
// company (issue 13 point 4), then pastes a key of another organization and
// goes through the start-over confirmation (point 3).
func TestReplaceKeyAndStartOverInBrowser(t *testing.T) {
	s := newStack(t)
	c := s.syncedCompany()
	orgA := s.org.OrganizationID
	orgB, err := s.ctl.CreateOrg(context.Background(), "Beta", true)
	if err != nil {
		t.Fatal(err)
	}
	fresh := s.mint(alignsim.KeyRequest{Name: "fresh"})
	lsn := s.connectedLSN(c.company)

	b := newBrowser(t, s.url)
	if code := b.open("/admin/login?token=" + signInToken(t, c.company, admin.RoleCompanyAdmin)); code != http.StatusOK {
		t.Fatalf("login landed on %d", code)
	}
	b.wantText("#connection-status", "Connected")
	b.wantText("#replace-heading", "Replace key")
	if b.text("label[for=api_key]") != "New API key" || b.count("form.replace input[type=password]#api_key") != 1 {
		t.Fatal("no labelled field to paste the new key")
	}
	b.screenshot("replace-key")

	b.typeInto("#api_key", fresh.Key)
	if code := b.submit("#replace-key"); code != http.StatusOK {
		t.Fatalf("replacing the key answered %d", code)
	}
	b.wantText("#notice", "API key replaced. The connection stayed connected: changes keep syncing and none is skipped.")
	b.wantText("#connection-status", "Connected")
	if got := b.text("#connection-key"); !strings.HasPrefix(got, "…"+fresh.Key[len(fresh.Key)-4:]) {
		t.Fatalf("key shows %q, want the new key's last four", got)
	}
	if got := s.connectedLSN(c.company); got != lsn {
		t.Fatalf("connected_lsn moved %s → %s", lsn, got)
	}
	b.screenshot("key-replaced")

	b.typeInto("#api_key", orgB.OrgKey)
	if code := b.submit("#replace-key"); code != http.StatusConflict {
		t.Fatalf("a key of another organization answered %d", code)
	}
	b.wantText("h1", "Start over in another Align organization?")
	b.wantText("#previous-organization", orgA)
	b.wantText("#new-organization", orgB.OrganizationID)
	if msg := b.text("#start-over-message"); !strings.Contains(msg, orgA) || !strings.Contains(msg, orgB.OrganizationID) {
		t.Fatalf("the message %q does not name both organizations", msg)
	}
	b.screenshot("confirm-start-over")

	b.typeInto("#api_key", orgB.OrgKey)
	if code := b.submit("#confirm-start-over"); code != http.StatusOK {
		t.Fatalf("confirming the start over answered %d", code)
	}
	b.wantText("#connection-status", "Connected")
	b.wantText("#connection-organization", orgB.OrganizationID)
	if !strings.HasPrefix(b.text("#notice"), "Connected to the new Align organization.") {
		t.Fatalf("notice %q", b.text("#notice"))
	}
	if s.retiredCount(c.company, orgA) != 3 {
		t.Fatal("links not retired")
	}
	b.screenshot("started-over")
	b.noSecret(s.org.OrgKey, fresh.Key, orgB.OrgKey)
}
