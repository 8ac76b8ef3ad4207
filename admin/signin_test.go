package admin_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"
)

// signIn opens the sign-in link of tok with a fresh client and returns its
// answer, the client and the page's text.
func (s *stack) signIn(tok, next string) (*http.Response, *pageClient, string) {
	s.t.Helper()
	pc := s.pageClient()
	path := "/admin/login?token=" + url.QueryEscape(tok)
	if next != "" {
		path += "&next=" + url.QueryEscape(next)
	}
	resp, body := pc.do(http.MethodGet, path, nil, nil)
	return resp, pc, body
}

func (s *stack) countSessions() int {
	s.t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.admin_sessions`).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// A sign-in link carries a short-lived sign-in token, never an API token; it
// is exchanged once for a session on the server whose cookie holds only a
// random id.
func TestSignInLinkIsSingleUse(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	sign := func(claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(jwtSecret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claims := func(exp time.Duration, jti string) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "u", "company_id": company, "roles": []string{admin.RoleCompanyAdmin},
			"aud": admin.SignInAudience, "exp": time.Now().Add(exp).Unix()}
		if jti != "" {
			c["jti"] = jti
		}
		return c
	}
	good := signInToken(t, company, admin.RoleCompanyAdmin)
	expired := sign(claims(-time.Hour, "old"))
	refused := map[string]struct{ tok, says string }{
		"no token":                  {"", "the link has no token"},
		"garbage":                   {"not-a-token", "invalid token"},
		"tampered":                  {good[:len(good)-3] + "abc", "invalid token"},
		"expired":                   {expired, "token expired"},
		"an API token":              {token(t, company, admin.RoleCompanyAdmin), "API token, not a sign-in token"},
		"valid for 24 hours":        {sign(claims(24*time.Hour, "long")), "valid for longer than 10m0s"},
		"without a jti":             {sign(claims(5*time.Minute, "")), "jti"},
		"with a jti of 201 bytes":   {sign(claims(5*time.Minute, strings.Repeat("j", 201))), "jti"},
		"of another secret":         {mustSignInToken(t, "another-secret-another-secret-0123", company), "invalid token"},
		"without a subject":         {sign(jwt.MapClaims{"aud": admin.SignInAudience, "jti": "x", "exp": time.Now().Add(time.Minute).Unix()}), "no sub claim"},
		"of a malformed company id": {sign(jwt.MapClaims{"sub": "u", "company_id": "acme", "aud": admin.SignInAudience, "jti": "y", "exp": time.Now().Add(time.Minute).Unix()}), "not a UUID"},
	}
	for name, tc := range refused {
		resp, _, body := s.signIn(tc.tok, "")
		if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 || !strings.Contains(body, tc.says) {
			t.Errorf("sign-in link with %s: %d, cookies %v, want 401 saying %q", name, resp.StatusCode, resp.Cookies(), tc.says)
		}
	}
	if n := s.countSessions(); n != 0 {
		t.Fatalf("%d sessions after refused links, want 0", n)
	}

	resp, pc, _ := s.signIn(good, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != integrationPath(company) {
		t.Fatalf("sign-in: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("the sign-in answer may leak its link in a Referer or a cache")
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("sign-in set %d cookies", len(cookies))
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin/" || c.MaxAge <= 0 ||
		strings.Contains(good, c.Value) || strings.Contains(c.Value, ".") {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, /admin/, an expiry, and no token in it", c)
	}
	hash := sha256.Sum256([]byte(c.Value))
	var stored int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM align_sync.admin_sessions WHERE id_hash = $1 AND subject = $2
		AND company_id = $3 AND roles = $4`, hash[:], "user-"+company, company, []string{admin.RoleCompanyAdmin}).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("the session is not stored by the hash of its cookie (%d rows, %v)", stored, err)
	}
	if code, _ := pc.get(integrationPath(company)); code != http.StatusOK {
		t.Fatalf("a page with the session: %d", code)
	}

	// The same link a second time: refused, and no second session.
	resp, _, body := s.signIn(good, "")
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 || !strings.Contains(body, "already used") {
		t.Fatalf("the link used again: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	if n := s.countSessions(); n != 1 {
		t.Fatalf("%d sessions after reusing a link, want 1", n)
	}

	// The session cookie is no API credential, and a sign-in token no bearer token.
	req, _ := http.NewRequest(http.MethodGet, s.url+connPath(company), nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	apiResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	apiResp.Body.Close()
	if apiResp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the API with the session cookie: %d", apiResp.StatusCode)
	}
	fresh := signInToken(t, company, admin.RoleCompanyAdmin)
	var e errorView
	if code := s.call(http.MethodGet, connPath(company), fresh, nil, &e); code != http.StatusUnauthorized || !strings.Contains(e.Error.Message, "not an API token") {
		t.Fatalf("the API with a sign-in token as bearer: %d %+v", code, e)
	}
	if resp, _ := s.pageClient().do(http.MethodGet, integrationPath(company), nil, http.Header{"Authorization": {"Bearer " + fresh}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a page with a sign-in token as bearer: %d", resp.StatusCode)
	}
}

// Signing out ends the session on the server: the old cookie, replayed,
// signs nobody in. An expired session is refused and removed.
func TestSignOutAndExpiryEndTheSession(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	pc := s.login(company, admin.RoleCompanyAdmin)
	u, _ := url.Parse(s.url + "/admin/")
	cookie := pc.c.Jar.Cookies(u)[0]
	csrf := pc.csrf(integrationPath(company))
	if code, body := pc.post("/admin/logout", url.Values{"csrf_token": {csrf}}); code != http.StatusOK || !strings.Contains(body, "Signed out") {
		t.Fatalf("sign-out: %d", code)
	}
	replay := s.pageClient()
	resp, body := replay.do(http.MethodGet, integrationPath(company), nil, http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "the session ended or expired") {
		t.Fatalf("the signed-out cookie replayed: %d, want 401", resp.StatusCode)
	}
	if n := s.countSessions(); n != 0 {
		t.Fatalf("%d sessions after signing out, want 0", n)
	}

	// Expiry: the session's end passes; the page refuses it, and the next
	// sign-in removes it.
	pc = s.login(company, admin.RoleCompanyAdmin)
	s.exec(`UPDATE align_sync.admin_sessions SET expires_at = now() - interval '1 second'`)
	if code, body := pc.get(integrationPath(company)); code != http.StatusUnauthorized || !strings.Contains(body, "the session ended or expired") {
		t.Fatalf("an expired session: %d, want 401", code)
	}
	s.login(company, admin.RoleCompanyAdmin)
	var expired int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM align_sync.admin_sessions WHERE expires_at <= now()`).Scan(&expired); err != nil || expired != 0 {
		t.Fatalf("%d expired sessions kept (%v), want 0", expired, err)
	}
}

// Where a sign-in lands: ?next= only within these pages; a platform admin on
// the sync page; /admin/ sends a holder to theirs. An API token in an
// Authorization header works on the pages as on the API, and wins over the
// cookie.
func TestSignInLanding(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	for next, want := range map[string]string{
		"/admin/align-sync?company=" + company: "/admin/align-sync?company=" + company,
		"https://evil.example/":                integrationPath(company),
		"//evil.example/admin/":                integrationPath(company),
	} {
		resp, _, _ := s.signIn(signInToken(t, company, admin.RoleCompanyAdmin), next)
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("next=%s redirected to %s, want %s", next, got, want)
		}
	}
	resp, _, _ := s.signIn(signInToken(t, "", admin.RolePlatformAdmin), "")
	if resp.Header.Get("Location") != "/admin/align-sync" {
		t.Fatalf("platform admin landed on %s", resp.Header.Get("Location"))
	}
	pc := s.login(company, admin.RoleCompanyAdmin)
	if resp, _ := pc.do(http.MethodGet, "/admin/", nil, nil); resp.Header.Get("Location") != integrationPath(company) {
		t.Fatalf("/admin/ sent a company admin to %s", resp.Header.Get("Location"))
	}
	if code, _ := s.pageClient().get(integrationPath(company)); code != http.StatusUnauthorized {
		t.Fatalf("a page without a session: %d", code)
	}
	hdr := http.Header{"Authorization": {"Bearer " + token(t, company, admin.RoleCompanyAdmin)}}
	if resp, _ := s.pageClient().do(http.MethodGet, integrationPath(company), nil, hdr); resp.StatusCode != http.StatusOK {
		t.Fatalf("a page with a bearer token: %d", resp.StatusCode)
	}
	if resp, _ := pc.do(http.MethodGet, integrationPath(company), nil, http.Header{"Authorization": {"Bearer nope"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a bad bearer token with a good cookie: %d", resp.StatusCode)
	}
	for _, p := range []string{"/admin/static/admin.css", "/admin/static/localtime.js"} {
		if code, _ := s.pageClient().get(p); code != http.StatusOK {
			t.Fatalf("static %s without a session: %d", p, code)
		}
	}
}

func TestIssueSignInTokenRefusesLongLifetimes(t *testing.T) {
	for _, ttl := range []time.Duration{0, -time.Minute, admin.MaxSignInLifetime + time.Second, 24 * time.Hour} {
		if _, err := admin.IssueSignInToken(jwtSecret, "u", "", []string{admin.RolePlatformAdmin}, ttl); err == nil {
			t.Errorf("a sign-in token valid %s was issued", ttl)
		}
	}
}

func mustSignInToken(t *testing.T, secret, company string) string {
	t.Helper()
	tok, err := admin.IssueSignInToken(secret, "u", company, []string{admin.RoleCompanyAdmin}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
