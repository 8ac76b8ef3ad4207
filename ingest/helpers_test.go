package ingest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// harness is a receiver on a fresh database with a keyring.
type harness struct {
	t        *testing.T
	pool     *pgxpool.Pool
	keyring  *credentials.Keyring
	receiver *ingest.Receiver
	router   *mux.Router
	reg      *prometheus.Registry
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	env := testenv.New(t)
	return newHarnessOn(t, env.Pool)
}

func newHarnessOn(t testing.TB, pool *pgxpool.Pool) *harness {
	kr, err := credentials.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(randomBytes(32)))
	if err != nil {
		t.Fatal(err)
	}
	conns, err := credentials.New(pool, kr)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rc, err := ingest.NewReceiver(ingest.Config{Pool: pool, Connections: conns, Metrics: ingest.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	rc.Register(r)
	h := &harness{pool: pool, keyring: kr, receiver: rc, router: r, reg: reg}
	if tt, ok := t.(*testing.T); ok {
		h.t = tt
	}
	return h
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// tenant is one Illumera company with its Align connection.
type tenant struct {
	companyID, orgID, connectionID, secret string
	engagementID, projectID, talentID      string
}

// newTenant creates a company with a project, a talent and an engagement, and
// a connected Align connection (stored the way connect stores it).
func (h *harness) newTenant(ctx context.Context, t testing.TB) tenant {
	t.Helper()
	tn := tenant{companyID: uuid.NewString(), orgID: uuid.NewString(), connectionID: uuid.NewString(),
		secret: "whsec_" + base64.StdEncoding.EncodeToString(randomBytes(24))}
	mustExec(t, h.pool, `INSERT INTO companies (id, name) VALUES ($1, 'Co')`, tn.companyID)
	if err := h.pool.QueryRow(ctx, `INSERT INTO projects (company_id, title) VALUES ($1, 'P') RETURNING id::text`, tn.companyID).Scan(&tn.projectID); err != nil {
		t.Fatal(err)
	}
	if err := h.pool.QueryRow(ctx, `INSERT INTO talent (email, full_name) VALUES ($1, 'T') RETURNING id::text`, uuid.NewString()+"@example.com").Scan(&tn.talentID); err != nil {
		t.Fatal(err)
	}
	if err := h.pool.QueryRow(ctx, `INSERT INTO engagements (company_id, project_id, talent_id, rate_cents, status)
		VALUES ($1, $2, $3, 9000, 'active') RETURNING id::text`, tn.companyID, tn.projectID, tn.talentID).Scan(&tn.engagementID); err != nil {
		t.Fatal(err)
	}
	key, err := h.keyring.Seal(tn.companyID, []byte("ako_"+base64.RawURLEncoding.EncodeToString(randomBytes(24))))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := h.keyring.Seal(tn.companyID, []byte(tn.secret))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, h.pool, `INSERT INTO align_sync.connections (company_id, connection_id, status,
		api_key_ciphertext, api_key_nonce, api_key_key_id, key_last4, organization_id, webhook_id,
		webhook_secret_ciphertext, webhook_secret_nonce, webhook_secret_key_id, connected_lsn, connected_at)
		VALUES ($1, $2, 'connected', $3, $4, $5, 'abcd', $6, $7, $8, $9, $10, pg_current_wal_lsn(), now())`,
		tn.companyID, tn.connectionID, key.Ciphertext, key.Nonce, key.KeyID, tn.orgID, uuid.NewString(),
		sec.Ciphertext, sec.Nonce, sec.KeyID)
	return tn
}

// newEntry creates a time entry in status and links it to a new Align id, as
// the pipeline would; it returns the Illumera and Align ids.
func (h *harness) newEntry(ctx context.Context, t testing.TB, tn tenant, status string) (string, string) {
	t.Helper()
	var id string
	if err := h.pool.QueryRow(ctx, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, current_date, 90, $5) RETURNING id::text`,
		tn.companyID, tn.engagementID, tn.projectID, tn.talentID, status).Scan(&id); err != nil {
		t.Fatal(err)
	}
	alignID := uuid.NewString()
	mustExec(t, h.pool, `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		VALUES ($1, 'time_entry', $2, $3)`, tn.companyID, id, alignID)
	return id, alignID
}

func mustExec(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// event is a delivery envelope.
func event(id, name, orgID, alignEntryID, reason string) []byte {
	data := map[string]any{"timeEntryId": alignEntryID, "status": name[len("time."):], "minutes": 90}
	if reason != "" {
		data["rejectionReason"] = reason
	}
	b, _ := json.Marshal(map[string]any{
		"id": id, "eventName": name, "occurredAt": time.Now().UTC().Format(time.RFC3339Nano),
		"organizationId": orgID, "data": data,
	})
	return b
}

// signedRequest signs body with secret at ts the way Align does.
func signedRequest(t testing.TB, connectionID, secret, id string, ts time.Time, body []byte) *http.Request {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/align/"+connectionID, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	return req
}

// deliver posts a signed event for tn and returns the status code and result.
func (h *harness) deliver(t testing.TB, tn tenant, id, name, alignEntryID, reason string) (int, string) {
	t.Helper()
	return h.do(signedRequest(t, tn.connectionID, tn.secret, id, time.Now(), event(id, name, tn.orgID, alignEntryID, reason)))
}

func (h *harness) do(req *http.Request) (int, string) {
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	var body struct {
		Status string `json:"status"`
		Error  struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if body.Status != "" {
		return rec.Code, body.Status
	}
	return rec.Code, body.Error.Code
}

func (h *harness) entry(t testing.TB, id string) (status string, reason *string) {
	t.Helper()
	if err := h.pool.QueryRow(context.Background(), `SELECT status, rejection_reason FROM time_entries WHERE id = $1`, id).Scan(&status, &reason); err != nil {
		t.Fatal(err)
	}
	return status, reason
}

type deliveryRow struct {
	Status, Event string
	Error, Note   *string
}

func (h *harness) deliveries(t testing.TB, deliveryID string) []deliveryRow {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT status, event_name, error, note FROM align_sync.webhook_deliveries WHERE delivery_id = $1`, deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []deliveryRow
	for rows.Next() {
		var d deliveryRow
		if err := rows.Scan(&d.Status, &d.Event, &d.Error, &d.Note); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func (h *harness) countDeliveries(t testing.TB) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM align_sync.webhook_deliveries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func testenvPool(t testing.TB) *pgxpool.Pool { return testenv.New(t).Pool }

func strconvItoa(n int64) string { return strconv.FormatInt(n, 10) }
