package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/sinks/align"
)

// A company admin, in a real browser, goes through the whole life of the
// Align integration: a refused project-scoped key, a good key, an operation
// that fails because the key was revoked, a reconnect and Retry Failed that
// the real sink then completes, and a disconnect. Each step checks what the
// page shows and leaves a screenshot.
func TestAdminPagesInBrowser(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	company := uuid.NewString()
	s.exec(`INSERT INTO companies (id, name) VALUES ($1, 'Acme Federal')`, company)
	other := uuid.NewString()
	s.exec(`INSERT INTO companies (id, name) VALUES ($1, 'Other Co')`, other)

	projectKey := s.projectScopedKey()
	first := s.mint(alignsim.KeyRequest{Name: "first"})
	second := s.mint(alignsim.KeyRequest{Name: "second"})
	secrets := []string{projectKey.Key, first.Key, second.Key}

	b := newBrowser(t, s.url)
	integration := "/admin/companies/" + company + "/integrations/align"
	syncPage := "/admin/align-sync"

	// Signing in lands a company admin on their Align settings.
	if code := b.open("/admin/login?token=" + signInToken(t, company, admin.RoleCompanyAdmin)); code != http.StatusOK {
		t.Fatalf("login landed on %d", code)
	}
	b.wantText("h1", "Align")
	b.wantText("#connection-status", "Disconnected")
	if b.count("form.connect input[type=password]#api_key") != 1 || b.text("label[for=api_key]") != "API key" {
		t.Fatal("not connected, yet no labelled password field to paste the key")
	}
	b.screenshot("not-connected")

	// A project-scoped key: the guide's message, next to the field.
	b.typeInto("#api_key", projectKey.Key)
	if code := b.submit("#save"); code != http.StatusUnprocessableEntity {
		t.Fatalf("saving a project-scoped key answered %d", code)
	}
	b.wantText("#api_key_error", "This API key is project-scoped")
	b.wantText("#api_key_fix", "Fix: Mint a new key at Align with Organization scope")
	if d := b.attr("#api_key", "aria-describedby"); !strings.Contains(d, "api_key_error") {
		t.Fatalf("the key field is described by %q, not by its error", d)
	}
	b.wantText("#connection-status", "Disconnected")
	b.screenshot("project-scoped-key")

	// A good key: Connected, the last four, the organization.
	b.typeInto("#api_key", first.Key)
	if code := b.submit("#save"); code != http.StatusOK {
		t.Fatalf("saving a good key answered %d", code)
	}
	b.wantText("#notice", "Connected to Align.")
	b.wantText("#connection-status", "Connected")
	if got := b.text("#connection-key"); !strings.HasPrefix(got, "…"+first.Key[len(first.Key)-4:]) {
		t.Fatalf("key shows %q, want its last four %s", got, first.Key[len(first.Key)-4:])
	}
	b.wantText("#connection-organization", s.org.OrganizationID)
	b.wantText("#connection-last-synced", "Never")
	if b.count("#save") != 0 || b.count("form.replace #api_key") != 1 || b.count("#disconnect") != 1 {
		t.Fatal("connected, yet the connect form is shown, or the Replace key form or the Disconnect button is not")
	}
	b.noSecret(secrets...)
	b.screenshot("connected")

	// The key is revoked in Align; the sink's next operation fails on it
	// and waits for Retry Failed.
	if err := s.ctl.RevokeKey(ctx, first.APIKeyID); err != nil {
		t.Fatal(err)
	}
	stopSink := s.startSink()
	project := s.insertProject(company, "Radar upgrade")
	waitFor(t, "the project's operation to fail", time.Minute, func() bool { return s.outboxStatus(company, project) == "failed" })
	stopSink()

	b.open(syncPage) // a company admin sees their own company
	b.wantText("h1", "Align Sync — Acme Federal")
	row := "#outbox-table tbody tr:first-child"
	b.wantText(row+" td:nth-of-type(1)", "project")
	b.wantText(row+" td:nth-of-type(2)", "Project “Radar upgrade”")
	b.wantText(row+" td:nth-of-type(4)", "failed")
	// The guide's message for a revoked key (the sink may add Align's code).
	if got := b.text(row + " td:nth-of-type(6)"); !strings.HasPrefix(got, "Align API key validation failed: 401") {
		t.Fatalf("the failed operation's error is %q", got)
	}
	if b.count("select#company") != 0 {
		t.Fatal("a company admin is offered other companies")
	}
	b.screenshot("outbox-failed")

	// The settings page says Error; reconnecting with a new key fixes it.
	b.open(integration)
	b.wantText("#connection-status", "Error")
	b.wantText("#connect-heading", "Reconnect")
	b.screenshot("connection-error")
	b.typeInto("#api_key", second.Key)
	if code := b.submit("#save"); code != http.StatusOK {
		t.Fatalf("reconnecting answered %d", code)
	}
	b.wantText("#connection-status", "Connected")
	// "Status shows Error after reconnecting": the failed operation is named
	// next to the status, with Retry Failed one click away.
	b.wantText("#connection-failed", "1 failed operation")

	// Retry Failed resets the operation to pending...
	if code := b.submit("#connection-retry-failed"); code != http.StatusOK {
		t.Fatalf("Retry Failed answered %d", code)
	}
	b.wantText("#notice", "1 item reset to pending")
	b.wantText(row+" td:nth-of-type(4)", "pending")
	b.screenshot("retry-failed-pending")

	// ...and the sink, running again, completes it.
	s.startSink()
	b.pollPage(syncPage, "the operation done", 60*time.Second, func() bool {
		return b.text(row+" td:nth-of-type(4)") == "done"
	})
	b.wantText(row+" td:nth-of-type(6)", "")
	b.screenshot("outbox-done")

	// Filters and captions: only failed operations, of which none is left.
	b.open(syncPage + "?company=" + company + "&outbox_status=failed")
	b.wantText("#outbox-table caption", "Outbox queue: 0 items (status failed), page 1 of 1")

	// Another company's pages are refused.
	if code := b.open("/admin/companies/" + other + "/integrations/align"); code != http.StatusForbidden {
		t.Fatalf("another company's settings answered %d", code)
	}
	b.wantText("h1", "Not allowed")
	if code := b.open(syncPage + "?company=" + other); code != http.StatusForbidden {
		t.Fatalf("another company's sync status answered %d", code)
	}
	if strings.Contains(b.source(), "Other Co") {
		t.Fatal("a refused page names the other company")
	}

	// Disconnect, through its confirmation step.
	b.open(integration)
	if got := b.text("#connection-last-synced"); got == "Never" {
		t.Fatal("last synced still Never after an operation was done")
	}
	if b.attr("#connection-last-synced time", "title") == "" || b.attr("#connection-last-synced time", "datetime") == "" {
		t.Fatal("last synced has no UTC value in its time element")
	}
	b.submit("#disconnect")
	b.wantText("h1", "Disconnect Align?")
	b.screenshot("confirm-disconnect")
	if code := b.submit("#confirm-disconnect"); code != http.StatusOK {
		t.Fatalf("disconnecting answered %d", code)
	}
	b.wantText("#connection-status", "Disconnected")
	b.wantText("#connection-key", "—")
	if b.count("#api_key") != 1 || b.count("#disconnect") != 0 {
		t.Fatal("disconnected, yet no connect form or still a Disconnect button")
	}
	b.screenshot("disconnected")

	b.noSecret(secrets...)
	assertNoSecret(t, s, first.Key)
	assertNoSecret(t, s, second.Key)
}

// projectScopedKey mints a key scoped to one Align project of the stack's org.
func (s *stack) projectScopedKey() alignsim.Key {
	s.t.Helper()
	c, err := align.New(align.Config{BaseURL: s.ctl.APIBaseURL(), APIKey: s.org.OrgKey, MaxAttempts: 1})
	if err != nil {
		s.t.Fatal(err)
	}
	p, _, err := c.CreateProject(context.Background(), uuid.NewString(), align.CreateProjectRequest{Name: "Scoped"})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.mint(alignsim.KeyRequest{Scope: alignsim.ScopeProject, ProjectID: p.ID})
}
