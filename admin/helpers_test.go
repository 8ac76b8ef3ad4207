package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/admin"
	"github.com/illumera/alignsync/alignsim"
	"github.com/illumera/alignsync/connect"
	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/internal/ops"
	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const jwtSecret = "test-secret-test-secret-test-secret-0123"

// stack is serve on a fresh database, talking to a simulator over loopback,
// which delivers webhooks back to it.
type stack struct {
	t       *testing.T
	env     *testenv.Env
	pool    *pgxpool.Pool
	ctl     *alignsim.Control
	url     string // serve's base URL
	srv     *admin.Server
	reg     *prometheus.Registry
	keyring *credentials.Keyring
	logs    *testenv.LogBuffer
	org     alignsim.Org
	// seen collects every response body, to search for secrets.
	mu   sync.Mutex
	seen []string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	env := testenv.New(t)
	sim := alignsim.New(alignsim.Options{})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	ctl := alignsim.NewControl(simSrv.URL, nil)
	if err := ctl.SetWebhookSchedule(context.Background(), []int{50, 100, 200, 400}); err != nil {
		t.Fatal(err)
	}
	kr, err := credentials.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(random(32)))
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(front.Close)
	logs := &testenv.LogBuffer{}
	reg := ops.NewRegistry()
	srv, handler := newServe(t, env.Pool, kr, ctl.APIBaseURL(), front.URL, reg,
		slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	org, err := ctl.CreateOrg(context.Background(), "Acme", true)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{t: t, env: env, pool: env.Pool, ctl: ctl, url: front.URL, srv: srv, reg: reg, keyring: kr, logs: logs, org: org}
}

// newServe assembles serve's listener as cmd/alignsync's serve does: the
// connect workflow, the webhook receiver on the credential store, the admin
// server, and one router with the operational endpoints.
func newServe(t testing.TB, pool *pgxpool.Pool, kr *credentials.Keyring, alignBaseURL, publicURL string,
	reg *prometheus.Registry, logger *slog.Logger) (*admin.Server, http.Handler) {
	t.Helper()
	conns, err := connect.NewService(connect.Config{Pool: pool, Keyring: kr, NewClient: connect.NewClientFactory(alignBaseURL, nil),
		PublicBaseURL: publicURL, Logger: logger, Metrics: connect.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	store, err := credentials.New(pool, kr)
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := ingest.NewReceiver(ingest.Config{Pool: pool, Connections: store, Metrics: ingest.NewMetrics(reg), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := admin.NewServer(admin.Config{Pool: pool, Connections: conns, Deliveries: receiver, JWTSecret: jwtSecret,
		Registry: reg, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	opsHandler := ops.Handler(reg, srv.Ready)
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		r.Handle(p, opsHandler).Methods(http.MethodGet)
	}
	receiver.Register(r)
	srv.Register(r)
	return srv, r
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func token(t *testing.T, company string, roles ...string) string {
	t.Helper()
	tok, err := admin.IssueToken(jwtSecret, "user-"+company, company, roles, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signInToken is a sign-in link's token, valid five minutes.
func signInToken(t testing.TB, company string, roles ...string) string {
	t.Helper()
	tok, err := admin.IssueSignInToken(jwtSecret, "user-"+company, company, roles, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a request to serve and decodes the JSON answer into out (if not nil).
func (s *stack) call(method, path, tok string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	s.mu.Lock()
	s.seen = append(s.seen, string(raw))
	s.mu.Unlock()
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func (s *stack) responses() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.seen, "\n")
}

type connectionView struct {
	Status           string     `json:"status"`
	Summary          string     `json:"summary"`
	FailedOperations int64      `json:"failedOperations"`
	RetryFailed      *string    `json:"retryFailed"`
	KeyLast4         *string    `json:"keyLast4"`
	OrganizationID   *string    `json:"organizationId"`
	LastSyncedAt     *time.Time `json:"lastSyncedAt"`
	LastError        *string    `json:"lastError"`
}

type errorView struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Fix     string `json:"fix"`
	} `json:"error"`
}

func connPath(company string) string { return "/api/companies/" + company + "/align/connection" }

func (s *stack) connect(company, key string) connectionView {
	s.t.Helper()
	var v connectionView
	if code := s.call(http.MethodPut, connPath(company), token(s.t, company, admin.RoleCompanyAdmin), map[string]string{"apiKey": key}, &v); code != 200 {
		s.t.Fatalf("connect: %d", code)
	}
	return v
}

func (s *stack) mint(req alignsim.KeyRequest) alignsim.Key {
	s.t.Helper()
	if req.Scope == "" {
		req.Scope = alignsim.ScopeOrganization
	}
	k, err := s.ctl.MintKey(context.Background(), s.org.OrganizationID, req)
	if err != nil {
		s.t.Fatal(err)
	}
	return k
}

func (s *stack) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.pool.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}

// company creates an Illumera company with a project, talent and an active
// engagement; it returns the company, project, talent and engagement ids.
func (s *stack) company() (company, project, talent, engagement string) {
	s.t.Helper()
	ctx := context.Background()
	company = uuid.NewString()
	s.exec(`INSERT INTO companies (id, name) VALUES ($1, 'Co')`, company)
	must := func(err error) {
		if err != nil {
			s.t.Fatal(err)
		}
	}
	must(s.pool.QueryRow(ctx, `INSERT INTO projects (company_id, title, status) VALUES ($1, 'P', 'active') RETURNING id::text`, company).Scan(&project))
	must(s.pool.QueryRow(ctx, `INSERT INTO talent (email, full_name) VALUES ($1, 'Tal Ent') RETURNING id::text`, uuid.NewString()+"@example.com").Scan(&talent))
	must(s.pool.QueryRow(ctx, `INSERT INTO engagements (company_id, project_id, talent_id, rate_cents, status)
		VALUES ($1, $2, $3, 9000, 'active') RETURNING id::text`, company, project, talent).Scan(&engagement))
	return company, project, talent, engagement
}

// poll waits for cond, failing the test after 15 s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
