package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/illumera/alignsync/admin"
)

const testJWTSecret = "admin-token-test-secret-0123456789abcdef"

// TestAdminTokenPrintsTokenAndSignInLink: the API token and the sign-in
// link's token verify with serve's secret and name the subject, role and
// company asked for; each is refused in the other's place.
func TestAdminTokenPrintsTokenAndSignInLink(t *testing.T) {
	t.Setenv("ALIGNSYNC_ADMIN_JWT_SECRET", testJWTSecret)
	company := "7F1C1B8E-8D0C-4A3E-9C57-0A3F0F1B2C3D"
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"admin-token", "--subject", "ops@illumera.example", "--role", "company_admin",
		"--company", company, "--lifetime", "2h", "--public-base-url", "https://sync.illumera.example/"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("output has %d lines, want a heading and a value for the token and for the link:\n%s", len(lines), out.String())
	}
	auth, err := admin.NewAuth(testJWTSecret)
	if err != nil {
		t.Fatal(err)
	}
	want := admin.Principal{Subject: "ops@illumera.example", CompanyID: strings.ToLower(company), Roles: []string{admin.RoleCompanyAdmin}}
	p, err := auth.ParseToken(lines[1])
	if err != nil || p.Subject != want.Subject || p.CompanyID != want.CompanyID || len(p.Roles) != 1 || p.Roles[0] != want.Roles[0] {
		t.Fatalf("API token: %+v, %v; want %+v", p, err, want)
	}
	if !strings.Contains(lines[0], "company_admin of company "+want.CompanyID) {
		t.Errorf("the token's heading %q does not say whose it is", lines[0])
	}
	link, err := url.Parse(lines[4])
	if err != nil || link.Scheme != "https" || link.Host != "sync.illumera.example" || link.Path != "/admin/login" {
		t.Fatalf("sign-in link %q, want https://sync.illumera.example/admin/login?token=...", lines[4])
	}
	in, err := auth.ParseSignInToken(link.Query().Get("token"))
	if err != nil || in.Subject != want.Subject || in.CompanyID != want.CompanyID || in.ID == "" {
		t.Fatalf("sign-in token: %+v, %v", in, err)
	}
	if _, err := auth.ParseSignInToken(lines[1]); err == nil {
		t.Error("the API token works as a sign-in token")
	}
	if _, err := auth.ParseToken(link.Query().Get("token")); err == nil {
		t.Error("the sign-in token works as an API token")
	}
	if strings.Contains(out.String()+errOut.String(), testJWTSecret) {
		t.Error("the secret was printed")
	}
}

func TestAdminTokenPlatformAdminWithoutBaseURL(t *testing.T) {
	t.Setenv("ALIGNSYNC_ADMIN_JWT_SECRET", testJWTSecret)
	t.Setenv("ALIGNSYNC_PUBLIC_BASE_URL", "")
	var out bytes.Buffer
	if code := run(context.Background(), []string{"admin-token", "--subject", "ops", "--role", "platform_admin"}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[4], "/admin/login?token=") {
		t.Fatalf("without a base URL the link is its path; output:\n%s", out.String())
	}
}

// TestAdminTokenListsEveryProblem: every mistake at once, exit status 2.
func TestAdminTokenListsEveryProblem(t *testing.T) {
	t.Setenv("ALIGNSYNC_ADMIN_JWT_SECRET", "")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{}, []string{"--subject (or $ALIGNSYNC_ADMIN_TOKEN_SUBJECT) is required",
			"--role (or $ALIGNSYNC_ADMIN_TOKEN_ROLE) is required", "--admin-jwt-secret (or $ALIGNSYNC_ADMIN_JWT_SECRET) is required"}},
		{[]string{"--subject", "s", "--role", "company_admin", "--admin-jwt-secret", "short", "--lifetime", "720h"},
			[]string{"--company (or $ALIGNSYNC_ADMIN_TOKEN_COMPANY) is required", "--admin-jwt-secret: 5 bytes, want at least 32",
				"--lifetime 720h0m0s: must be between 1m and 24h0m0s"}},
		{[]string{"--subject", "s", "--role", "owner", "--admin-jwt-secret", testJWTSecret}, []string{`--role "owner": want platform_admin or company_admin`}},
		{[]string{"--subject", "s", "--role", "company_admin", "--company", "acme", "--admin-jwt-secret", testJWTSecret}, []string{`--company "acme": not a UUID`}},
		{[]string{"--subject", "s", "--role", "platform_admin", "--company", "7f1c1b8e-8d0c-4a3e-9c57-0a3f0f1b2c3d", "--admin-jwt-secret", testJWTSecret},
			[]string{"give --company only with --role company_admin"}},
	} {
		var out bytes.Buffer
		code := run(context.Background(), append([]string{"admin-token"}, tc.args...), &out, &out)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2; output:\n%s", tc.args, code, out.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out.String())
			}
		}
	}
}
