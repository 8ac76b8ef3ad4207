package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// sessionCookie carries the id of the admin's session on the server (see
// sessions): never a token, and worthless once the session ended.
const sessionCookie = "alignsync_admin_session"

// csrfField is the hidden form field of every state-changing form.
const csrfField = "csrf_token"

// maxFormBytes bounds a posted form.
const maxFormBytes = 64 << 10

// errCSRF refuses a form posted without this session's token.
var errCSRF = errors.New("missing or wrong form token")

// authenticate reads the request's API token from the Authorization header,
// or else its session from the session cookie. Failures are 401 *AuthError
// (or a database error).
func (p *pages) authenticate(r *http.Request) (session, error) {
	if r.Header.Get("Authorization") != "" {
		pr, err := p.s.auth.Authenticate(r)
		if err != nil {
			return session{}, err
		}
		_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		return session{Principal: pr, credential: strings.TrimSpace(tok)}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return session{}, unauthenticated("no session: sign in with a sign-in link")
	}
	pr, ok, err := p.s.sessions.get(r.Context(), c.Value)
	if err != nil {
		return session{}, err
	}
	if !ok {
		return session{}, unauthenticated("the session ended or expired: sign in again with a new sign-in link")
	}
	return session{Principal: pr, credential: c.Value, cookie: true}, nil
}

// authorize authenticates r and checks that its holder may act on
// companyID, with the API's rule (authorizeCompany).
func (p *pages) authorize(r *http.Request, companyID string) (session, string, error) {
	ses, err := p.authenticate(r)
	if err != nil {
		return session{}, "", err
	}
	company, err := authorizeCompany(ses.Principal, companyID)
	if err != nil {
		return session{}, "", err
	}
	return ses, company, nil
}

// authorizeForm is authorize for a posted form: it also reads the form
// (bounded) and checks its CSRF token. companyID comes from the route or,
// when empty, from the form's company field.
func (p *pages) authorizeForm(w http.ResponseWriter, r *http.Request, companyID string) (session, string, error) {
	ses, err := p.authenticate(r)
	if err != nil {
		return session{}, "", err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return session{}, "", badRequest("the form could not be read")
	}
	if !p.validCSRF(ses, r.PostForm.Get(csrfField)) {
		return session{}, "", errCSRF
	}
	if companyID == "" {
		companyID = r.PostForm.Get("company")
	}
	company, err := authorizeCompany(ses.Principal, companyID)
	if err != nil {
		return session{}, "", err
	}
	return ses, company, nil
}

// csrfKey derives the form-token key from the JWT secret, so it needs no
// configuration of its own and differs from the token-signing key.
func csrfKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("alignsync admin pages: CSRF key v1"))
	return m.Sum(nil)
}

// csrfToken is the form token of a session: an HMAC of its credential. A page
// of another session, or another site that cannot read this one, cannot
// produce it.
func (p *pages) csrfToken(credential string) string {
	m := hmac.New(sha256.New, p.csrfKey)
	m.Write([]byte(credential))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (p *pages) validCSRF(ses session, got string) bool {
	want := p.csrfToken(ses.credential)
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}

// login exchanges the sign-in token of ?token= (short-lived, single-use) for
// a session on the server, sets its cookie and redirects to ?next= (a path
// under /admin/) or the holder's landing page. A refused token sets nothing.
func (p *pages) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	tok := strings.TrimSpace(r.URL.Query().Get("token"))
	if tok == "" {
		p.fail(w, r, unauthenticated("the link has no token"))
		return
	}
	in, err := p.s.auth.ParseSignInToken(tok)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	id, expires, err := p.s.sessions.start(r.Context(), in)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/admin/", Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r),
	})
	next := landing(in.Principal)
	if n := r.URL.Query().Get("next"); safeNext(n) {
		next = n
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on the server and forgets its cookie.
func (p *pages) logout(w http.ResponseWriter, r *http.Request) {
	ses, err := p.authenticate(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !p.validCSRF(ses, r.PostForm.Get(csrfField)) {
		p.fail(w, r, errCSRF)
		return
	}
	if ses.cookie {
		if err := p.s.sessions.end(r.Context(), ses.credential); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/admin/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	p.render(w, r, http.StatusOK, "message.html", messageView{chrome: chrome{Title: "Signed out"},
		Heading: "Signed out", Message: "Open the admin pages from Illumera to sign in again."})
}

func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// safeNext accepts only a path of these pages, so the login link cannot
// send anyone elsewhere.
func safeNext(next string) bool {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return false
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}
