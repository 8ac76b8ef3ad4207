package admin

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/illumera/alignsync/connect"
)

// integrationView is Company Settings → Integrations → Align.
type integrationView struct {
	chrome
	Conn connect.Status
	// KeyError is a refused connect, worded as the troubleshooting guide
	// words it, shown next to the API key field.
	KeyError *fieldError
	Notice   string
}

type fieldError struct {
	Message string
	Fix     string
}

// Connected reports a working connection: no connect form, a Disconnect button.
func (v integrationView) Connected() bool { return v.Conn.Status == connect.StatusConnected }

// CanDisconnect reports a connection that still holds a key.
func (v integrationView) CanDisconnect() bool { return v.Conn.Status != connect.StatusDisconnected }

// notices are the messages a redirect after a change may ask for; only
// these fixed texts can be shown.
var notices = map[string]string{
	"connected":    "Connected to Align.",
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
	p.render(w, r, status, "integration.html", integrationView{
		chrome: p.chrome(ses, "Align integration — "+ref.Label(), "integration", ref), Conn: st, KeyError: keyErr, Notice: notice,
	})
}

// connect is the Connect form's Save: the API's PUT .../align/connection.
func (p *pages) connect(w http.ResponseWriter, r *http.Request) {
	ses, company, err := p.authorizeForm(w, r, mux.Vars(r)["companyID"])
	if err != nil {
		p.fail(w, r, err)
		return
	}
	r = withActor(r, ses, company)
	_, err = p.s.conns.Connect(r.Context(), company, r.PostForm.Get("api_key"))
	var f *connect.Failure
	switch {
	case errors.Is(err, connect.ErrEmptyKey):
		p.renderIntegration(w, r, ses, company, http.StatusBadRequest,
			&fieldError{Message: "API key is required", Fix: "Paste the organization-scoped key you minted in Align"}, "")
	case errors.As(err, &f):
		p.s.audit(r, "connect", slog.String("outcome", f.Code))
		status := http.StatusUnprocessableEntity
		if f.Code == connect.CodeAlignUnavailable {
			status = http.StatusBadGateway
		}
		p.renderIntegration(w, r, ses, company, status, &fieldError{Message: f.Message, Fix: f.Fix}, "")
	case err != nil:
		p.fail(w, r, err)
	default:
		p.s.audit(r, "connect", slog.String("outcome", "connected"))
		http.Redirect(w, r, companyRef{ID: company}.IntegrationURL()+"?notice=connected", http.StatusSeeOther)
	}
}

// disconnectView is the confirmation step before a disconnect.
type disconnectView struct {
	chrome
	Conn connect.Status
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
	if st.Status == connect.StatusDisconnected {
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
