package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCallConnectionAPI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			writeError(w, http.StatusUnauthorized, "unauthorized", "no token")
		case r.URL.Path == "/api/companies/c1/align/connection":
			writeJSON(w, http.StatusOK, map[string]string{"status": "connected"})
		default:
			http.Error(w, "plain failure", http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	var out struct{ Status string }
	if err := CallConnectionAPI(ctx, srv.URL, "tok", http.MethodGet, "c1", "/connection", nil, &out); err != nil || out.Status != "connected" {
		t.Fatalf("answer %+v, %v; want connected", out, err)
	}
	err := CallConnectionAPI(ctx, srv.URL, "bad", http.MethodGet, "c1", "/connection", nil, &out)
	if err == nil || !strings.Contains(err.Error(), "answered 401 unauthorized: no token") {
		t.Fatalf("error %v: want the status, code and message", err)
	}
	err = CallConnectionAPI(ctx, srv.URL, "tok", http.MethodPost, "c1", "/other", map[string]int{"a": 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "answered 502: plain failure") {
		t.Fatalf("error %v: want the status and the body", err)
	}
}
