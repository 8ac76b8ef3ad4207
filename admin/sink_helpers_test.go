package admin_test

import (
	"github.com/illumera/alignsync/change"

	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/pipeline"
)

// startSink runs the real sink against the stack's Kafka, database and
// simulator, with serve's connection service for the keys. The returned func
// stops it and waits until it has (also done at cleanup).
func (s *stack) startSink() (stop func()) {
	s.t.Helper()
	sink, err := pipeline.New(pipeline.Config{
		Brokers: s.env.Kafka.Brokers, AlignBaseURL: s.ctl.APIBaseURL(),
		RetryInterval: 50 * time.Millisecond, StatsInterval: 200 * time.Millisecond,
	}, s.pool, s.srv.Connections(), slog.New(slog.NewJSONHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sink.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("sink stopped with %v", err)
		}
		sink.Close()
	}
	s.t.Cleanup(stop)
	return stop
}

// insertProject writes a draft project as Illumera's app would and produces
// its change to illumera.cdc as capture would. It returns the project id.
func (s *stack) insertProject(company, title string) string {
	s.t.Helper()
	return s.insertRow(company, "projects", `INSERT INTO projects (company_id, title, status) VALUES ($1, $2, 'draft') RETURNING *`,
		company, title)
}

// insertEntry writes a draft time entry of an engagement and produces its
// change. It returns the entry id.
func (s *stack) insertEntry(company, project, talent, engagement string, minutes int) string {
	s.t.Helper()
	return s.insertRow(company, "time_entries", `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, current_date, $5, 'draft') RETURNING *`, company, engagement, project, talent, minutes)
}

// insertRow runs an INSERT ... RETURNING * and produces the row's change to
// illumera.cdc as capture would: the row as JSON, at the WAL position of the
// insert. It returns the row's id.
func (s *stack) insertRow(company, table, insert string, args ...any) string {
	s.t.Helper()
	ctx := context.Background()
	var lsn string
	var row map[string]any
	if err := s.pool.QueryRow(ctx, `WITH r AS (`+insert+`) SELECT to_jsonb(r), pg_current_wal_insert_lsn()::text FROM r`,
		args...).Scan(&row, &lsn); err != nil {
		s.t.Fatal(err)
	}
	commit, err := pglogrepl.ParseLSN(lsn)
	if err != nil {
		s.t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	value, err := json.Marshal(change.Envelope{After: row, Op: change.OpCreate, TsMs: now,
		Source: change.Source{Connector: change.Connector, Schema: "public", Table: table,
			LSN: uint64(commit), CommitLSN: uint64(commit), TsMs: now}})
	if err != nil {
		s.t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(s.env.Kafka.Brokers...), Topic: testenv.CDCTopic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(company), Value: value}); err != nil {
		s.t.Fatalf("producing the %s change: %v", table, err)
	}
	return row["id"].(string)
}

// outboxStatus reads the status of the company's operations on an entity.
func (s *stack) outboxStatus(company, entityID string) string {
	s.t.Helper()
	var st string
	err := s.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(status, ',' ORDER BY id), '')
		FROM align_sync.outbox WHERE company_id = $1 AND entity_id = $2`, company, entityID).Scan(&st)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}
