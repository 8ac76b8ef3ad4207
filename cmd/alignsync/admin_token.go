package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
)

func init() {
	register(command{name: "admin-token", summary: "print a signed admin API token and a sign-in link for the admin pages", run: runAdminToken})
}

// maxAPITokenLifetime bounds --lifetime: a token printed on a terminal should
// not outlive the working day.
const maxAPITokenLifetime = 24 * time.Hour

type adminTokenConfig struct {
	subject, role, company string
	lifetime               time.Duration
	jwtSecret, baseURL     string
}

func runAdminToken(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c adminTokenConfig
	f := newFlagSet("admin-token", "Signs, with serve's ALIGNSYNC_ADMIN_JWT_SECRET, what Illumera's app would issue: an API\n"+
		"token for the admin API (Authorization: Bearer) valid --lifetime, and a sign-in link for the admin\n"+
		"pages carrying a sign-in token (single use, valid at most 10 minutes). Run it where serve's\n"+
		"environment is, e.g. docker-compose exec serve /usr/local/bin/alignsync admin-token ...\n"+
		"The output is a credential: do not paste it where others can read it.")
	f.String(&c.subject, "subject", "ALIGNSYNC_ADMIN_TOKEN_SUBJECT", "", "who the token names (its sub claim), e.g. you@illumera.example; it appears in serve's audit log")
	f.String(&c.role, "role", "ALIGNSYNC_ADMIN_TOKEN_ROLE", "", "platform_admin (every company) or company_admin (one company, --company)")
	f.String(&c.company, "company", "ALIGNSYNC_ADMIN_TOKEN_COMPANY", "", "with --role company_admin: the company id (UUID)")
	f.Duration(&c.lifetime, "lifetime", "ALIGNSYNC_ADMIN_TOKEN_LIFETIME", time.Hour, "how long the API token is valid (at most 24h); the sign-in link expires sooner")
	f.String(&c.jwtSecret, "admin-jwt-secret", "ALIGNSYNC_ADMIN_JWT_SECRET", "", fmt.Sprintf("serve's HS256 secret (at least %d bytes)", admin.MinSecretBytes))
	f.String(&c.baseURL, "public-base-url", "ALIGNSYNC_PUBLIC_BASE_URL", "", "URL at which you reach serve, for the sign-in link (empty: print the link's path only)")
	if code := parseFlags(f, args, stdout, stderr, func() { c.validate(f) }); code >= 0 {
		return code
	}
	if err := c.print(stdout); err != nil {
		fmt.Fprintf(stderr, "alignsync admin-token: %v\n", err)
		return 1
	}
	return 0
}

func (c *adminTokenConfig) validate(f *flagSet) {
	f.Require(c.subject, "subject")
	f.Require(c.jwtSecret, "admin-jwt-secret")
	switch c.role {
	case admin.RolePlatformAdmin:
		if c.company != "" {
			f.Problem("--company %q: a platform_admin acts on every company; give --company only with --role company_admin", c.company)
		}
	case admin.RoleCompanyAdmin:
		f.Require(c.company, "company")
		if c.company != "" {
			id, err := credentials.CanonicalID(c.company)
			if err != nil {
				f.Problem("--company %q: not a UUID", c.company)
			}
			c.company = id
		}
	case "":
		f.Require(c.role, "role")
	default:
		f.Problem("--role %q: want platform_admin or company_admin", c.role)
	}
	if c.lifetime < time.Minute || c.lifetime > maxAPITokenLifetime {
		f.Problem("--lifetime %s: must be between 1m and %s", c.lifetime, maxAPITokenLifetime)
	}
	if c.jwtSecret != "" && len(c.jwtSecret) < admin.MinSecretBytes {
		f.Problem("--admin-jwt-secret: %d bytes, want at least %d", len(c.jwtSecret), admin.MinSecretBytes)
	}
	if c.baseURL != "" {
		if err := connect.ValidateBaseURL(c.baseURL); err != nil {
			f.Problem("--public-base-url: %v", err)
		}
	}
}

func (c *adminTokenConfig) print(w io.Writer) error {
	roles := []string{c.role}
	tok, err := admin.IssueToken(c.jwtSecret, c.subject, c.company, roles, c.lifetime)
	if err != nil {
		return err
	}
	signInLife := min(c.lifetime, admin.MaxSignInLifetime)
	signIn, err := admin.IssueSignInToken(c.jwtSecret, c.subject, c.company, roles, signInLife)
	if err != nil {
		return err
	}
	who := c.role
	if c.company != "" {
		who += " of company " + c.company
	}
	now := time.Now().UTC()
	link := strings.TrimRight(c.baseURL, "/") + "/admin/login?token=" + url.QueryEscape(signIn)
	fmt.Fprintf(w, "API token for %s (%s), expires %s; send it as Authorization: Bearer <token>:\n%s\n\n",
		c.subject, who, now.Add(c.lifetime).Format(time.RFC3339), tok)
	fmt.Fprintf(w, "Sign-in link for the admin pages (single use, expires %s):\n%s\n",
		now.Add(signInLife).Format(time.RFC3339), link)
	return nil
}
