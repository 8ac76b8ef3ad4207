package testenv

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestMain(m *testing.M) { Main(m) }

func TestEnvGivesWorkingPostgresKafkaAndAlign(t *testing.T) {
	env := New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("postgres has logical decoding and the migrated schemas", func(t *testing.T) {
		var level string
		if err := env.Pool.QueryRow(ctx, "SHOW wal_level").Scan(&level); err != nil || level != "logical" {
			t.Fatalf("wal_level = %q (%v), want logical", level, err)
		}
		var lsn string
		err := env.Pool.QueryRow(ctx, "SELECT lsn::text FROM pg_create_logical_replication_slot('testenv_probe', 'pgoutput')").Scan(&lsn)
		if err != nil || lsn == "" {
			t.Fatalf("creating a replication slot: %v", err)
		}
		t.Cleanup(func() { env.Pool.Exec(context.Background(), "SELECT pg_drop_replication_slot('testenv_probe')") })
		var tables int
		err = env.Pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE (table_schema = 'align_sync' AND table_name IN ('connections','entity_links','outbox','webhook_deliveries','reconciliation_discrepancies'))
			   OR (table_schema = 'public' AND table_name IN ('companies','talent','projects','project_roles','engagements','time_entries'))`).Scan(&tables)
		if err != nil || tables != 11 {
			t.Fatalf("found %d of the 11 expected tables (%v)", tables, err)
		}
	})

	t.Run("kafka-go writer and consumer group round-trip", func(t *testing.T) {
		w := &kafka.Writer{Addr: kafka.TCP(env.Kafka.Brokers...), Topic: CDCTopic, Balancer: &kafka.Murmur2Balancer{},
			RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
		defer w.Close()
		want := map[string]bool{}
		var msgs []kafka.Message
		for i := 0; i < 20; i++ {
			v := fmt.Sprintf("value-%d", i)
			want[v] = true
			msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprintf("company-%d", i%5)), Value: []byte(v)})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatalf("producing: %v", err)
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: env.Kafka.Brokers, GroupID: "testenv", Topic: CDCTopic,
			StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
		defer r.Close()
		for len(want) > 0 {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("consuming with %d messages missing: %v", len(want), err)
			}
			delete(want, string(m.Value))
			if err := r.CommitMessages(ctx, m); err != nil {
				t.Fatalf("committing: %v", err)
			}
		}
	})

	t.Run("alignsim answers", func(t *testing.T) {
		org, err := env.Align.Control.CreateOrg(ctx, "Probe", true)
		if err != nil {
			t.Fatalf("creating an org: %v", err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.Align.BaseURL+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+org.OrgKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /me: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /me = %d, want 200", resp.StatusCode)
		}
	})
}

func TestStartPostgresReportsMissingBinaries(t *testing.T) {
	t.Setenv("PG_BINDIR", t.TempDir())
	_, err := StartPostgres(context.Background())
	if err == nil {
		t.Fatal("StartPostgres with no binaries succeeded")
	}
	if !strings.Contains(err.Error(), "no initdb in $PG_BINDIR") {
		t.Fatalf("error %q does not name the missing initdb", err)
	}
}
