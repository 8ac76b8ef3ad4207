package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/illumera/alignsync/admin"

	"github.com/illumera/alignsync/internal/testenv"
)

// companyRoutes are every route of the admin API for a company.
func companyRoutes(company string) [][2]string {
	base := "/api/companies/" + company + "/align"
	return [][2]string{
		{http.MethodGet, base + "/connection"},
		{http.MethodPut, base + "/connection"},
		{http.MethodDelete, base + "/connection"},
		{http.MethodGet, base + "/sync/outbox"},
		{http.MethodPost, base + "/sync/retry-failed"},
		{http.MethodGet, base + "/webhook-deliveries"},
		{http.MethodPost, base + "/webhook-deliveries/retry-failed"},
		{http.MethodGet, base + "/reconciliation-discrepancies"},
	}
}

func TestTokensRefused(t *testing.T) {
	s := newStack(t)
	company := uuid.NewString()
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := jwt.MapClaims{"sub": "u", "company_id": company, "roles": []string{"company_admin"}, "exp": time.Now().Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range valid {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	expired, _ := admin.IssueToken(jwtSecret, "u", company, []string{"company_admin"}, -time.Hour)
	cases := []struct {
		name, header string
		code         int
	}{
		{"no header", "", 401},
		{"not bearer", "Basic dXNlcjpwYXNz", 401},
		{"garbage", "Bearer not.a.jwt", 401},
		{"expired", "Bearer " + expired, 401},
		{"wrong secret", "Bearer " + sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-012"), valid), 401},
		{"alg none", "Bearer " + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid), 401},
		{"HS512", "Bearer " + sign(jwt.SigningMethodHS512, []byte(jwtSecret), valid), 401},
		{"no exp", "Bearer " + sign(jwt.SigningMethodHS256, []byte(jwtSecret), with("exp", nil)), 401},
		{"no sub", "Bearer " + sign(jwt.SigningMethodHS256, []byte(jwtSecret), with("sub", nil)), 401},
		{"no role", "Bearer " + sign(jwt.SigningMethodHS256, []byte(jwtSecret), with("roles", []string{"talent"})), 403},
		{"company_admin without company", "Bearer " + sign(jwt.SigningMethodHS256, []byte(jwtSecret), with("company_id", nil)), 403},
		{"valid", "Bearer " + sign(jwt.SigningMethodHS256, []byte(jwtSecret), valid), 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.url+connPath(company), nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("got %d, want %d", resp.StatusCode, tc.code)
			}
		})
	}
}

// A company_admin of A gets 403 on every route of B and changes nothing there;
// a platform_admin may use any company's routes.
func TestTenantIsolationOfAdminRoutes(t *testing.T) {
	s := newStack(t)
	a, b := uuid.NewString(), uuid.NewString()
	s.connect(b, s.org.OrgKey)
	s.exec(`INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key, status)
		VALUES ($1, 'project', 'p1', 'create', 'k-b', 'failed')`, b)

	adminOfA := token(t, a, admin.RoleCompanyAdmin)
	for _, r := range companyRoutes(b) {
		var e errorView
		if code := s.call(r[0], r[1], adminOfA, map[string]string{"apiKey": "ako_" + strings.Repeat("z", 32)}, &e); code != 403 || e.Error.Code != "forbidden" {
			t.Errorf("%s %s as company_admin of A: %d %+v, want 403", r[0], r[1], code, e)
		}
	}
	// Uppercase spelling of B's id is still B.
	if code := s.call(http.MethodGet, connPath(strings.ToUpper(b)), adminOfA, nil, nil); code != 403 {
		t.Errorf("uppercase id: %d", code)
	}
	var v connectionView
	s.call(http.MethodGet, connPath(b), token(t, b, admin.RoleCompanyAdmin), nil, &v)
	if v.Status != "connected" {
		t.Fatalf("B's connection changed by A: %+v", v)
	}
	var failed int
	_ = s.pool.QueryRow(t.Context(), `SELECT count(*) FROM align_sync.outbox WHERE company_id = $1 AND status = 'failed'`, b).Scan(&failed)
	if failed != 1 {
		t.Fatal("A reset B's failed operations")
	}

	platform, _ := admin.IssueToken(jwtSecret, "ops", "", []string{admin.RolePlatformAdmin}, time.Hour)
	for _, r := range companyRoutes(b) {
		if r[0] != http.MethodGet {
			continue
		}
		if code := s.call(r[0], r[1], platform, nil, nil); code != 200 {
			t.Errorf("%s %s as platform_admin: %d", r[0], r[1], code)
		}
	}
	if code := s.call(http.MethodGet, "/api/companies/not-a-uuid/align/connection", platform, nil, nil); code != 404 {
		t.Errorf("platform_admin on a non-UUID company: %d, want 404", code)
	}
	if code := s.call(http.MethodGet, "/api/companies/not-a-uuid/align/connection", adminOfA, nil, nil); code != 403 {
		t.Errorf("company_admin on a non-UUID company: %d, want 403", code)
	}
	if v := testenv.CounterValue(t, s.reg, "alignsync_admin_auth_failures_total", "forbidden"); v < float64(len(companyRoutes(b))) {
		t.Errorf("forbidden counter %v", v)
	}
}
