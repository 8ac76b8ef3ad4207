package admin

import (
	"encoding/json"
	"net/http"
)

// errorBody is every error answer: {"error":{"code","message"}}, plus the
// troubleshooting guide's fix when there is one.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// The organizations of an organization_changed refusal.
	PreviousOrganizationID string `json:"previousOrganizationId,omitempty"`
	OrganizationID         string `json:"organizationId,omitempty"`
	Links                  int    `json:"links,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client went away
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}
