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

// connectRequest is the body of PUT .../align/connection. On a connected
// company it replaces the key without a disconnect. StartOver confirms
// connecting to another Align organization than the one the company's
// entity links point into (connect.Options).
type connectRequest struct {
	APIKey    string `json:"apiKey"`
	StartOver bool   `json:"startOver"`
}

func (s *Server) putConnection(w http.ResponseWriter, r *http.Request) {
	var req connectRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "validation_error", `want a JSON body {"apiKey": "..."}`)
		return
	}
	company := CompanyFrom(r.Context())
	st, err := s.conns.ConnectWith(r.Context(), company, req.APIKey, connect.Options{StartOver: req.StartOver})
	var f *connect.Failure
	switch {
	case errors.Is(err, connect.ErrEmptyKey):
		writeError(w, http.StatusBadRequest, "validation_error", err.Error())
	case errors.As(err, &f):
		s.audit(r, "connect", slog.String("outcome", f.Code))
		writeJSON(w, failureStatus(f), errorBody{Error: errorDetail{Code: f.Code, Message: f.Message, Fix: f.Fix,
			PreviousOrganizationID: f.PreviousOrganizationID, OrganizationID: f.OrganizationID, Links: f.Links}})
	case err != nil:
		s.internalError(w, r, err)
	default:
		s.audit(r, "connect", slog.String("outcome", "connected"))
		writeJSON(w, http.StatusOK, toConnectionJSON(st))
	}
}

// failureStatus is the HTTP status of a refused connect: 502 when Align gave
// no verdict, 409 when the organization changed (the same request with
// "startOver": true would succeed), else 422.
func failureStatus(f *connect.Failure) int {
	switch f.Code {
	case connect.CodeAlignUnavailable:
		return http.StatusBadGateway
	case connect.CodeOrganizationChanged:
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
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
