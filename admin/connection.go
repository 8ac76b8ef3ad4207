package admin

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/illumera/alignsync/connect"
)

// connectionJSON is the connection as admins see it.
type connectionJSON struct {
	Status         string     `json:"status"`
	KeyLast4       *string    `json:"keyLast4"`
	OrganizationID *string    `json:"organizationId"`
	LastSyncedAt   *time.Time `json:"lastSyncedAt"`
	LastError      *string    `json:"lastError"`
}

func toConnectionJSON(s connect.Status) connectionJSON {
	return connectionJSON{
		Status:         s.Status,
		KeyLast4:       nonEmpty(s.KeyLast4),
		OrganizationID: nonEmpty(s.OrganizationID),
		LastSyncedAt:   s.LastSyncedAt,
		LastError:      nonEmpty(s.LastError),
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// connectRequest is the body of PUT .../align/connection.
type connectRequest struct {
	APIKey string `json:"apiKey"`
}

func (s *Server) putConnection(w http.ResponseWriter, r *http.Request) {
	var req connectRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "validation_error", `want a JSON body {"apiKey": "..."}`)
		return
	}
	company := CompanyFrom(r.Context())
	st, err := s.conns.Connect(r.Context(), company, req.APIKey)
	var f *connect.Failure
	switch {
	case errors.Is(err, connect.ErrEmptyKey):
		writeError(w, http.StatusBadRequest, "validation_error", err.Error())
	case errors.As(err, &f):
		s.audit(r, "connect", slog.String("outcome", f.Code))
		status := http.StatusUnprocessableEntity
		if f.Code == connect.CodeAlignUnavailable {
			status = http.StatusBadGateway
		}
		writeJSON(w, status, errorBody{Error: errorDetail{Code: f.Code, Message: f.Message, Fix: f.Fix}})
	case err != nil:
		s.internalError(w, r, err)
	default:
		s.audit(r, "connect", slog.String("outcome", "connected"))
		writeJSON(w, http.StatusOK, toConnectionJSON(st))
	}
}

func (s *Server) getConnection(w http.ResponseWriter, r *http.Request) {
	st, err := s.conns.Status(r.Context(), CompanyFrom(r.Context()))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toConnectionJSON(st))
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request) {
	st, err := s.conns.Disconnect(r.Context(), CompanyFrom(r.Context()))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.audit(r, "disconnect")
	writeJSON(w, http.StatusOK, toConnectionJSON(st))
}

// audit logs an admin's action on a company: a state change someone may need
// to trace back to a person.
func (s *Server) audit(r *http.Request, action string, attrs ...any) {
	p, _ := PrincipalFrom(r.Context())
	attrs = append([]any{slog.String("action", action), slog.String("subject", p.Subject),
		slog.String("company_id", CompanyFrom(r.Context()))}, attrs...)
	s.log.Info("admin action", attrs...)
}

// internalError answers 500 and logs the cause, which the client never sees.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("admin request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Any("error", err))
	writeError(w, http.StatusInternalServerError, "internal", "internal error")
}
