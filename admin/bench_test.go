package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/illumera/alignsync/connect/credentials"
	"github.com/illumera/alignsync/internal/ops"
	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/store"
)

// BenchmarkWebhookIngest posts b.N signed deliveries to the serve router on a
// loopback TCP listener, backed by the test PostgreSQL, then checks that every
// delivery was recorded processed. Every delivery moves one linked entry one
// step forward (approved, then locked, then invoiced), so each one writes a
// status.
//
//   - closed-32: 32 keep-alive clients send as fast as answers come back
//     (maximum throughput; latency there is mostly queueing, 32 / throughput).
//
//   - open-2000: deliveries are due at a fixed 2,000/s whatever the answers
//     do; latency counts from when a delivery was due, so a stall is not hidden
//     by the clients slowing down.
//
//     go test -run '^$' -bench WebhookIngest -benchtime 30000x ./admin
func BenchmarkWebhookIngest(b *testing.B) {
	b.Run("closed-32", func(b *testing.B) { benchIngest(b, 32, 0) })
	b.Run("open-2000", func(b *testing.B) { benchIngest(b, 128, 2000) })
}

// benchIngest runs b.N deliveries with workers clients; rate > 0 schedules
// them at that many per second.
func benchIngest(b *testing.B, workers int, rate float64) {
	ctx := context.Background()
	pool, kr, serveURL := benchTarget(b)
	company, orgID, connID, secret := benchTenant(b, pool, kr)
	entries := (b.N + 2) / 3
	alignIDs := benchEntries(b, pool, company, entries)
	events := []string{"time.approved", "time.locked", "time.invoiced"}
	wh, _ := standardwebhooks.NewWebhook(secret)

	type signed struct {
		id, ts, sig string
		body        []byte
	}
	reqs := make([]signed, b.N)
	now := time.Now()
	for i := range reqs {
		id := uuid.NewString()
		body, _ := json.Marshal(map[string]any{"id": id, "eventName": events[i/entries], "organizationId": orgID,
			"occurredAt": now.UTC().Format(time.RFC3339Nano),
			"data":       map[string]any{"timeEntryId": alignIDs[i%entries], "minutes": 90}})
		sig, _ := wh.Sign(id, now, body)
		reqs[i] = signed{id: id, ts: strconv.FormatInt(now.Unix(), 10), sig: sig, body: body}
	}
	url := serveURL + "/webhooks/align/" + connID
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}

	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, b.N)
	latencies := make([]time.Duration, b.N)
	var failures atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r := reqs[j.i]
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(r.body))
				req.Header.Set("webhook-id", r.id)
				req.Header.Set("webhook-timestamp", r.ts)
				req.Header.Set("webhook-signature", r.sig)
				due := j.due
				if due.IsZero() {
					due = time.Now()
				}
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				latencies[j.i] = time.Since(due)
				if err != nil || resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		}()
	}
	for i := range b.N {
		var due time.Time
		if rate > 0 {
			due = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		jobs <- job{i: i, due: due}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	if n := failures.Load(); n > 0 {
		b.Fatalf("%d deliveries not answered 200", n)
	}
	var recorded, notes int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(note) FROM align_sync.webhook_deliveries
		WHERE company_id = $1 AND status = 'processed'`, company).Scan(&recorded, &notes); err != nil {
		b.Fatal(err)
	}
	if recorded != b.N {
		b.Fatalf("%d deliveries recorded processed, want %d", recorded, b.N)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 { return float64(latencies[int(p*float64(len(latencies)-1))]) / 1e6 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1])/1e6, "max-ms")
	b.ReportMetric(float64(notes), "no-op-deliveries")
}

// benchTarget is the serve to post to, its database and its keyring: an
// in-process one on the test PostgreSQL, or the one named by the environment.
func benchTarget(b *testing.B) (*pgxpool.Pool, *credentials.Keyring, string) {
	ctx := context.Background()
	if url := os.Getenv("ALIGNSYNC_BENCH_SERVE_URL"); url != "" {
		pool, err := store.Open(ctx, os.Getenv("DATABASE_URL"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		kr, err := credentials.ParseKeyring(os.Getenv("ALIGNSYNC_ENCRYPTION_KEYS"))
		if err != nil {
			b.Fatal(err)
		}
		return pool, kr, strings.TrimSuffix(url, "/")
	}
	env := testenv.New(b)
	pool, err := store.Open(ctx, env.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	kr, _ := credentials.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(random(32)))
	_, handler := newServe(b, pool, kr, "http://127.0.0.1:1/api/v1", "http://127.0.0.1", ops.NewRegistry(), nil)
	httpSrv, err := ops.Start("127.0.0.1:0", handler, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = httpSrv.Shutdown() })
	return pool, kr, "http://" + httpSrv.Addr
}

func benchTenant(b *testing.B, pool *pgxpool.Pool, kr *credentials.Keyring) (company, orgID, connID, secret string) {
	ctx := context.Background()
	company, orgID, connID = uuid.NewString(), uuid.NewString(), uuid.NewString()
	secret = "whsec_" + base64.StdEncoding.EncodeToString(random(24))
	key, _ := kr.Seal(company, []byte("ako_benchbenchbenchbenchbenchbench"))
	sec, _ := kr.Seal(company, []byte(secret))
	_, err := pool.Exec(ctx, `INSERT INTO align_sync.connections (company_id, connection_id, status,
		api_key_ciphertext, api_key_nonce, api_key_key_id, key_last4, organization_id, webhook_id,
		webhook_secret_ciphertext, webhook_secret_nonce, webhook_secret_key_id, connected_lsn, connected_at)
		VALUES ($1, $2, 'connected', $3, $4, $5, 'ench', $6, $7, $8, $9, $10, pg_current_wal_insert_lsn(), now())`,
		company, connID, key.Ciphertext, key.Nonce, key.KeyID, orgID, uuid.NewString(), sec.Ciphertext, sec.Nonce, sec.KeyID)
	if err != nil {
		b.Fatal(err)
	}
	return company, orgID, connID, secret
}

// benchEntries creates n submitted entries with their links and returns the
// Align ids.
func benchEntries(b *testing.B, pool *pgxpool.Pool, company string, n int) []string {
	ctx := context.Background()
	var project, talent, engagement string
	err := pool.QueryRow(ctx, `WITH c AS (INSERT INTO companies (id, name) VALUES ($1, 'Bench') RETURNING id),
		p AS (INSERT INTO projects (company_id, title) SELECT id, 'P' FROM c RETURNING id, company_id),
		t AS (INSERT INTO talent (email, full_name) VALUES ($2, 'T') RETURNING id),
		e AS (INSERT INTO engagements (company_id, project_id, talent_id, rate_cents)
		      SELECT p.company_id, p.id, t.id, 9000 FROM p, t RETURNING id, project_id, talent_id)
		SELECT project_id::text, talent_id::text, id::text FROM e`, company, uuid.NewString()+"@example.com").
		Scan(&project, &talent, &engagement)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := pool.Query(ctx, `
		WITH te AS (
		    INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		    SELECT $1, $2, $3, $4, current_date, 60, 'submitted' FROM generate_series(1, $5)
		    RETURNING id)
		INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id)
		SELECT $1, 'time_entry', id::text, gen_random_uuid()::text FROM te
		RETURNING align_id`, company, engagement, project, talent, n)
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		b.Fatal(fmt.Errorf("created %d entries, want %d", len(ids), n))
	}
	return ids
}
