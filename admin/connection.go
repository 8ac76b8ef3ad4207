package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/pipeline/ledger"
)

// connectionJSON is the connection as admins see it. Summary words the
// status as the page shows it: failed operations are named next to it, with
// the Retry Failed action that resets them (RetryFailed, a POST).
type connectionJSON struct {
	Status           string     `json:"status"`
	Summary          string     `json:"summary"`
	FailedOperations int64      `json:"failedOperations"`
	RetryFailed      *string    `json:"retryFailed"`
	KeyLast4         *string    `json:"keyLast4"`
	OrganizationID   *string    `json:"organizationId"`
	LastSyncedAt     *time.Time `json:"lastSyncedAt"`
	LastError        *string    `json:"lastError"`
}

func toConnectionJSON(s credentials.Status, company string, failed int64) connectionJSON {
	c := connectionJSON{
		Status:           s.Status,
		Summary:          statusSummary(s.Status, failed),
		FailedOperations: failed,
		KeyLast4:         nonEmpty(s.KeyLast4),
		OrganizationID:   nonEmpty(s.OrganizationID),
		LastSyncedAt:     s.LastSyncedAt,
		LastError:        nonEmpty(s.LastError),
	}
	if failed > 0 {
		c.RetryFailed = nonEmpty("/api/companies/" + company + "/align/sync/retry-failed")
	}
	return c
}

// statusSummary is the connection status with the company's failed
// operations next to it: "Connected · 3 failed operations". A connection
// can be healthy while operations that failed before (with an old key, in a
// rate-limit spike) still wait for Retry Failed.
func statusSummary(status string, failed int64) string {
	label := statusLabel(status)
	switch {
	case failed == 1:
		return label + " · 1 failed operation"
	case failed > 1:
		return fmt.Sprintf("%s · %d failed operations", label, failed)
	}
	return label
}

// connectionAnswer writes the connection with the company's failed
// operations counted.
func (s *Server) connectionAnswer(w http.ResponseWriter, r *http.Request, st credentials.Status) {
	company := CompanyFrom(r.Context())
	failed, err := ledger.FailedCount(r.Context(), s.pool, company)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toConnectionJSON(st, company, failed))
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
		s.audit(r, "connect", slog.String("outcome", credentials.StatusConnected))
		s.connectionAnswer(w, r, st)
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
	s.connectionAnswer(w, r, st)
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request) {
	st, err := s.conns.Disconnect(r.Context(), CompanyFrom(r.Context()))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.audit(r, "disconnect")
	s.connectionAnswer(w, r, st)
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
