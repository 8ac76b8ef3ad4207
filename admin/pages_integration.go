package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/pipeline/ledger"
)

// integrationView is Company Settings → Integrations → Align.
type integrationView struct {
	chrome
	Conn credentials.Status
	// Failed counts the company's failed operations, shown next to the
	// status with the Retry Failed button.
	Failed int64
	// KeyError is a refused connect, worded as the troubleshooting guide
	// words it, shown next to the API key field.
	KeyError *fieldError
	Notice   string
}

type fieldError struct {
	Message string
	Fix     string
}

// Connected reports a working connection: a Replace key form instead of the
// connect form, and a Disconnect button.
func (v integrationView) Connected() bool { return v.Conn.Status == credentials.StatusConnected }

// CanDisconnect reports a connection that still holds a key.
func (v integrationView) CanDisconnect() bool { return v.Conn.Status != credentials.StatusDisconnected }

// notices are the messages a redirect after a change may ask for; only
// these fixed texts can be shown.
var notices = map[string]string{
	"connected":    "Connected to Align.",
	"key-replaced": "API key replaced. The connection stayed connected: changes keep syncing and none is skipped.",
	"started-over": "Connected to the new Align organization. The links into the previous organization are retired " +
		"(kept for audit, never used); projects, users and time entries are created here as they change.",
	"disconnected": "Disconnected from Align. Data already in Align and the entity links are kept.",
}

func (p *pages) integration(w http.ResponseWriter, r *http.Request) {
	ses, company, err := p.authorize(r, mux.Vars(r)["companyID"])
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.renderIntegration(w, r, ses, company, http.StatusOK, nil, notices[r.URL.Query().Get("notice")])
}

func (p *pages) renderIntegration(w http.ResponseWriter, r *http.Request, ses session, company string, status int, keyErr *fieldError, notice string) {
	ref, err := p.companyRef(r.Context(), company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	st, err := p.s.conns.Status(r.Context(), company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	failed, err := ledger.FailedCount(r.Context(), p.s.pool, company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, status, "integration.html", integrationView{
		chrome: p.chrome(ses, "Align integration — "+ref.Label(), "integration", ref), Conn: st, Failed: failed,
		KeyError: keyErr, Notice: notice,
	})
}

// connect is the Save of the Connect, Replace key and Start over forms: the
// API's PUT .../align/connection. Start over carries the organization the
// admin confirmed, so the confirmation holds for a key of that organization
// only.
func (p *pages) connect(w http.ResponseWriter, r *http.Request) {
	ses, company, err := p.authorizeForm(w, r, mux.Vars(r)["companyID"])
	if err != nil {
		p.fail(w, r, err)
		return
	}
	r = withActor(r, ses, company)
	before, err := p.s.conns.Status(r.Context(), company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	opts := connect.Options{StartOverOrganization: strings.TrimSpace(r.PostForm.Get("start_over_organization"))}
	opts.StartOver = opts.StartOverOrganization != ""
	_, err = p.s.conns.ConnectWith(r.Context(), company, r.PostForm.Get("api_key"), opts)
	var f *connect.Failure
	switch {
	case errors.Is(err, connect.ErrEmptyKey):
		p.renderIntegration(w, r, ses, company, http.StatusBadRequest,
			&fieldError{Message: "API key is required", Fix: "Paste the organization-scoped key you minted in Align"}, "")
	case errors.As(err, &f) && f.Code == connect.CodeOrganizationChanged:
		p.s.audit(r, "connect", slog.String("outcome", f.Code))
		p.confirmStartOver(w, r, ses, company, f)
	case errors.As(err, &f):
		p.s.audit(r, "connect", slog.String("outcome", f.Code))
		p.renderIntegration(w, r, ses, company, failureStatus(f), &fieldError{Message: f.Message, Fix: f.Fix}, "")
	case err != nil:
		p.fail(w, r, err)
	default:
		p.s.audit(r, "connect", slog.String("outcome", credentials.StatusConnected), slog.Bool("start_over", opts.StartOver))
		notice := "connected"
		switch {
		case opts.StartOver && !strings.EqualFold(before.OrganizationID, opts.StartOverOrganization):
			notice = "started-over"
		case before.Status == credentials.StatusConnected:
			notice = "key-replaced"
		}
		http.Redirect(w, r, companyRef{ID: company}.IntegrationURL()+"?notice="+notice, http.StatusSeeOther)
	}
}

// startOverView is the confirmation step before connecting to another Align
// organization: it names both and repeats the consequences.
type startOverView struct {
	chrome
	Conn     credentials.Status
	Previous string // the organization the links point into
	New      string // the key's organization
	Links    int
	Message  string
	Fix      string
}

// confirmStartOver answers a connect refused because the key belongs to
// another organization. The key is not kept anywhere (not even in the form),
// so the confirmation asks for it again.
func (p *pages) confirmStartOver(w http.ResponseWriter, r *http.Request, ses session, company string, f *connect.Failure) {
	ref, err := p.companyRef(r.Context(), company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	st, err := p.s.conns.Status(r.Context(), company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusConflict, "startover.html", startOverView{
		chrome: p.chrome(ses, "Start over in another Align organization? — "+ref.Label(), "integration", ref),
		Conn:   st, Previous: f.PreviousOrganizationID, New: f.OrganizationID, Links: f.Links, Message: f.Message, Fix: f.Fix,
	})
}

// disconnectView is the confirmation step before a disconnect.
type disconnectView struct {
	chrome
	Conn credentials.Status
}

func (p *pages) confirmDisconnect(w http.ResponseWriter, r *http.Request) {
	ses, company, err := p.authorize(r, mux.Vars(r)["companyID"])
	if err != nil {
		p.fail(w, r, err)
		return
	}
	ref, err := p.companyRef(r.Context(), company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	st, err := p.s.conns.Status(r.Context(), company)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if st.Status == credentials.StatusDisconnected {
		http.Redirect(w, r, ref.IntegrationURL(), http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "disconnect.html", disconnectView{
		chrome: p.chrome(ses, "Disconnect Align? — "+ref.Label(), "integration", ref), Conn: st,
	})
}

// disconnect is the confirmed Disconnect: the API's DELETE .../align/connection.
func (p *pages) disconnect(w http.ResponseWriter, r *http.Request) {
	ses, company, err := p.authorizeForm(w, r, mux.Vars(r)["companyID"])
	if err != nil {
		p.fail(w, r, err)
		return
	}
	r = withActor(r, ses, company)
	if _, err := p.s.conns.Disconnect(r.Context(), company); err != nil {
		p.fail(w, r, err)
		return
	}
	p.s.audit(r, "disconnect")
	http.Redirect(w, r, companyRef{ID: company}.IntegrationURL()+"?notice=disconnected", http.StatusSeeOther)
}
