package admin

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the templates under templates/, each rendered inside layout.html.
var pageNames = []string{"integration.html", "disconnect.html", "startover.html", "sync.html", "message.html"}

// pages renders the admin pages: server-side HTML over the same calls and the
// same authorization as the JSON API.
type pages struct {
	s       *Server
	m       *Metrics
	tmpl    map[string]*template.Template
	csrfKey []byte
}

func newPages(s *Server, m *Metrics) (*pages, error) {
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	return &pages{s: s, m: m, tmpl: t, csrfKey: csrfKey(s.auth.secret)}, nil
}

var templateFuncs = template.FuncMap{
	"statusLabel": statusLabel,
	"utc":         func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
}

func parseTemplates() (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parsing admin page template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// statusLabel is how the pages word a stored status.
func statusLabel(status string) string {
	if status == "" {
		return ""
	}
	return strings.ToUpper(status[:1]) + strings.ReplaceAll(status[1:], "_", " ")
}

// register mounts the pages under /admin/.
func (p *pages) register(r *mux.Router) {
	static, _ := fs.Sub(staticFS, "static") // the directory is embedded: cannot fail
	r.PathPrefix("/admin/static/").Handler(http.StripPrefix("/admin/static/", staticHandler(http.FS(static)))).
		Methods(http.MethodGet, http.MethodHead)

	r.Handle("/admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently)).Methods(http.MethodGet)
	a := r.PathPrefix("/admin").Subrouter()
	a.HandleFunc("/login", p.login).Methods(http.MethodGet)
	a.HandleFunc("/logout", p.logout).Methods(http.MethodPost)
	a.HandleFunc("/", p.home).Methods(http.MethodGet)
	a.HandleFunc("/companies/{companyID}/integrations/align", p.integration).Methods(http.MethodGet)
	a.HandleFunc("/companies/{companyID}/integrations/align/connect", p.connect).Methods(http.MethodPost)
	a.HandleFunc("/companies/{companyID}/integrations/align/disconnect", p.confirmDisconnect).Methods(http.MethodGet)
	a.HandleFunc("/companies/{companyID}/integrations/align/disconnect", p.disconnect).Methods(http.MethodPost)
	a.HandleFunc("/align-sync", p.syncStatus).Methods(http.MethodGet)
	a.HandleFunc("/align-sync/retry-failed", p.retryOutbox).Methods(http.MethodPost)
	a.HandleFunc("/align-sync/retry-failed-deliveries", p.retryDeliveries).Methods(http.MethodPost)
}

func staticHandler(h http.FileSystem) http.Handler {
	files := http.FileServer(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

// chrome is what the layout needs on every page.
type chrome struct {
	Title    string
	Subject  string // who is signed in
	CSRF     string // the form token of this session
	Company  *companyRef
	SignedIn bool
	Active   string // the navigation entry of this page: "integration" or "sync"
}

type companyRef struct {
	ID   string
	Name string
}

// IntegrationURL is the company's Align settings page.
func (c companyRef) IntegrationURL() string {
	return "/admin/companies/" + c.ID + "/integrations/align"
}

// SyncURL is the company's sync status page.
func (c companyRef) SyncURL() string { return "/admin/align-sync?company=" + url.QueryEscape(c.ID) }

// Label names the company for people: its name, or its id when it has none.
func (c companyRef) Label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// session is an authenticated page request.
type session struct {
	Principal
	credential string // the bearer token, or the session id of the cookie
	cookie     bool   // signed in through the session cookie
}

func (p *pages) chrome(ses session, title, active string, company *companyRef) chrome {
	return chrome{Title: title, Subject: ses.Subject, CSRF: p.csrfToken(ses.credential),
		Company: company, SignedIn: true, Active: active}
}

// render writes a page with the security headers every page carries.
func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.tmpl[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		p.s.log.Error("rendering admin page failed", slog.String("page", name), slog.String("path", r.URL.Path),
			slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pageHeaders(w)
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w) // the client went away
}

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// no-referrer: the login link's token must not leak to another site.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

// messageView is a page that only says something: an error or a refusal.
type messageView struct {
	chrome
	Heading string
	Message string
}

// fail answers a refused or failed request with a page (never the cause of
// an internal error, which is logged).
func (p *pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errCSRF) {
		p.render(w, r, http.StatusForbidden, "message.html", messageView{chrome: chrome{Title: "Form refused"},
			Heading: "Form refused", Message: "The form did not carry this session's security token. Reload the page and try again."})
		return
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		p.m.authFailure(ae.Status)
		v := messageView{chrome: chrome{Title: "Not allowed"}, Heading: "Not allowed",
			Message: "You may not view or change this company's Align integration."}
		switch ae.Status {
		case http.StatusUnauthorized:
			v.Title, v.Heading = "Sign in required", "Sign in required"
			v.Message = "Open the admin pages from Illumera, or with a sign-in link (" + ae.Message + ")."
		case http.StatusNotFound:
			v.Title, v.Heading, v.Message = "Not found", "Not found", "There is no such company."
		}
		p.render(w, r, ae.Status, "message.html", v)
		return
	}
	var be badRequest
	if errors.As(err, &be) {
		p.render(w, r, http.StatusBadRequest, "message.html", messageView{chrome: chrome{Title: "Bad request"},
			Heading: "Bad request", Message: string(be)})
		return
	}
	p.s.log.Error("admin page failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Any("error", err))
	p.render(w, r, http.StatusInternalServerError, "message.html", messageView{chrome: chrome{Title: "Error"},
		Heading: "Something went wrong", Message: "The page could not be shown. Try again; if it persists, check serve's logs."})
}

// badRequest is a request the pages cannot read; its text is shown.
type badRequest string

func (b badRequest) Error() string { return string(b) }

// withActor puts the holder and company in the context, as RequireCompany
// does for the API, so audit logs name them.
func withActor(r *http.Request, ses session, company string) *http.Request {
	ctx := context.WithValue(r.Context(), principalKey{}, ses.Principal)
	ctx = context.WithValue(ctx, companyKey{}, company)
	return r.WithContext(ctx)
}

// companyRef reads the company's name from Illumera's companies table; a
// company without a row (or without the table) is shown by its id.
func (p *pages) companyRef(ctx context.Context, company string) (*companyRef, error) {
	ref := &companyRef{ID: company}
	var name *string
	err := p.s.pool.QueryRow(ctx, `SELECT name FROM companies WHERE id = $1`, company).Scan(&name)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("reading company %s: %w", company, err)
	case name != nil:
		ref.Name = *name
	}
	return ref, nil
}

// home sends the holder to the page they most likely want.
func (p *pages) home(w http.ResponseWriter, r *http.Request) {
	ses, err := p.authenticate(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, landing(ses.Principal), http.StatusSeeOther)
}

func isPlatformAdmin(pr Principal) bool { return slices.Contains(pr.Roles, RolePlatformAdmin) }

// landing is where a holder goes after signing in.
func landing(pr Principal) string {
	if !isPlatformAdmin(pr) && pr.CompanyID != "" && pr.CanActOn(pr.CompanyID) {
		return companyRef{ID: pr.CompanyID}.IntegrationURL()
	}
	return "/admin/align-sync"
}
