package resync

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/illumera/alignsync/capture"
	"github.com/illumera/alignsync/internal/testenv"
)

// runningCapture is capture.Run in a goroutine; stop cancels it and returns
// Run's result.
type runningCapture struct {
	cancel context.CancelFunc
	done   chan error
}

func runCapture(cfg capture.Config, reg prometheus.Registerer) *runningCapture {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningCapture{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- capture.Run(ctx, cfg, testLogger(), reg) }()
	return r
}

func (r *runningCapture) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("capture stopped with %v", err)
	}
}

func captureConfig(env *testenv.Env) capture.Config {
	cfg := capture.DefaultConfig()
	cfg.DatabaseURL, cfg.Brokers, cfg.Slot = env.DatabaseURL, env.Kafka.Brokers, "alignsync_recovery"
	cfg.HeartbeatInterval, cfg.StatusInterval, cfg.SlotPollInterval = 200*time.Millisecond, 100*time.Millisecond, time.Second
	cfg.LockPollInterval, cfg.ReconnectMax = 100*time.Millisecond, time.Second
	return cfg
}

// waitSlot waits until a capture streams from the slot (active) or none does.
func waitSlot(t *testing.T, env *testenv.Env, slot string, active bool) {
	t.Helper()
	eventually(t, time.Minute, "slot "+slot+" active: "+map[bool]string{true: "yes", false: "no"}[active], func() error {
		var is bool
		err := env.Pool.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&is)
		if err == nil && is != active {
			err = errors.New("not yet")
		}
		return err
	})
}

// invalidate makes PostgreSQL remove WAL the stopped capture's slot still
// needs: with max_slot_wal_keep_size at 32MB, a few segment switches past the
// slot and a checkpoint invalidate it, as a long outage would.
func invalidate(t *testing.T, env *testenv.Env, slot string) {
	t.Helper()
	eventually(t, time.Minute, "slot "+slot+" invalidated", func() error {
		for i := 0; i < 3; i++ {
			env.Exec(t, `SELECT pg_logical_emit_message(false, 'resync-test', repeat('x', 1000))`)
			env.Exec(t, `SELECT pg_switch_wal()`)
		}
		env.Exec(t, `CHECKPOINT`)
		var status string
		if err := env.Pool.QueryRow(context.Background(), `SELECT coalesce(wal_status, '') FROM pg_replication_slots
			WHERE slot_name = $1`, slot).Scan(&status); err != nil || status != "lost" {
			return errors.New("wal_status " + status)
		}
		return nil
	})
}

// people are the company's talent.
type people struct{ ada, bob, cyd, dan string }

// TestLostSlotRecoveryConverges invalidates capture's slot for real, checks
// that capture refuses it with the recovery in its error and metric, then
// runs that recovery (--recreate-slot, resync) and proves Align ends exactly
// as Illumera: nothing missing, nothing doubled, no failed operation; a
// second resync enqueues nothing.
func TestLostSlotRecoveryConverges(t *testing.T) {
	env := testenv.New(t, testenv.WithPostgresSettings("max_slot_wal_keep_size=32MB"))
	ctx := context.Background()
	k := testenv.NewKeys()
	company, org := connectCompany(t, env, k, nil)
	startSink(t, env, k)
	cfg := captureConfig(env)
	cap1 := runCapture(cfg, prometheus.NewRegistry())
	waitSlot(t, env, cfg.Slot, true)
	p := people{ada: uuid.NewString(), bob: uuid.NewString(), cyd: uuid.NewString(), dan: uuid.NewString()}
	for _, id := range []string{p.ada, p.bob, p.cyd, p.dan} {
		env.Exec(t, `INSERT INTO talent (id, email, full_name) VALUES ($1, $2, $3)`, id, id[:8]+"@example.com", "talent "+id[:8])
	}
	apollo, gemini, adaOnApollo, draft := before(t, env, company, p)
	eventually(t, 2*time.Minute, "Align to hold the changes made before the outage", func() error { return converged(ctx, env, company, org.OrganizationID) })
	cap1.stop(t)
	waitSlot(t, env, cfg.Slot, false)

	mercury := gap(t, env, company, p, apollo, gemini, adaOnApollo, draft)
	invalidate(t, env, cfg.Slot)

	reg := prometheus.NewRegistry()
	err := capture.Run(ctx, cfg, testLogger(), reg)
	var lost *capture.SlotLostError
	if !errors.As(err, &lost) || lost.Reason != capture.SlotInvalidated || !strings.Contains(err.Error(), "--recreate-slot") {
		t.Fatalf("capture on the invalidated slot returned %v, want a refusal naming --recreate-slot", err)
	}
	if v := gaugeValue(t, reg, "alignsync_capture_slot_lost", "invalidated"); v != 1 {
		t.Fatalf("alignsync_capture_slot_lost{reason=invalidated} = %v, want 1", v)
	}
	if report, err := capture.Check(ctx, cfg); err != nil || report.OK() || report.Slot.WALStatus != "lost" ||
		!strings.Contains(strings.Join(report.Fixes, "\n"), "--recreate-slot") {
		t.Fatalf("capture --check on the invalidated slot: %+v, %v; want it not ready, naming --recreate-slot", report, err)
	}
	if _, err := capture.RecreateSlot(ctx, cfg, testLogger()); err != nil {
		t.Fatalf("recreating the slot: %v", err)
	}
	cap2 := runCapture(cfg, prometheus.NewRegistry())
	defer cap2.stop(t)
	waitSlot(t, env, cfg.Slot, true)

	// Live changes flow again; what the gap held does not.
	after := uuid.NewString()
	env.Exec(t, `INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-23', 30, 'draft')`, after, company, adaOnApollo, apollo, p.ada)
	eventually(t, time.Minute, "the entry made after the recovery in Align", func() error {
		s, err := env.Align.Control.State(ctx, org.OrganizationID)
		for _, e := range s.TimeEntries {
			if e.ExternalID != nil && *e.ExternalID == after {
				return nil
			}
		}
		return errors.Join(err, errors.New("not there yet"))
	})
	if err := converged(ctx, env, company, org.OrganizationID); err == nil || !strings.Contains(err.Error(), mercury) {
		t.Fatalf("before the resync Align already agrees (%v): the outage lost nothing, so this test proves nothing", err)
	}

	rep := mustRun(t, env, Options{Since: lost.ResyncSince()})
	if totalOperations(rep) == 0 {
		t.Fatal("the resync found nothing to enqueue")
	}
	eventually(t, 2*time.Minute, "Align to converge with Illumera", func() error { return converged(ctx, env, company, org.OrganizationID) })
	var failed int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM align_sync.outbox WHERE status = 'failed'`).Scan(&failed); err != nil || failed != 0 {
		t.Fatalf("%d operations failed (%v)", failed, err)
	}
	if again := mustRun(t, env, Options{Since: lost.ResyncSince()}); totalOperations(again) != 0 {
		t.Fatalf("a second resync enqueued %d operations, want none", totalOperations(again))
	}
}

// before is the company's life until the outage: an active project with a
// role, Ada accepted on it with a draft and a submitted entry, an open
// project.
func before(t *testing.T, env *testenv.Env, company string, p people) (apollo, gemini, adaOnApollo, draft string) {
	apollo, gemini, adaOnApollo, draft = uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	env.Exec(t, `INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Apollo', 'draft')`, apollo, company)
	env.Exec(t, `INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks) VALUES ($1, $2, 'Go engineer', 40, 12)`, apollo, company)
	env.Exec(t, `UPDATE projects SET status = 'active', updated_at = now() WHERE id = $1`, apollo)
	env.Exec(t, `INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Gemini', 'open')`, gemini, company)
	env.Exec(t, `INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 9000, 'invited')`,
		adaOnApollo, company, apollo, p.ada)
	env.Exec(t, `UPDATE engagements SET status = 'accepted', updated_at = now() WHERE id = $1`, adaOnApollo)
	env.Exec(t, `INSERT INTO time_entries (id, company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, $5, '2026-11-20', 60, 'draft')`, draft, company, adaOnApollo, apollo, p.ada)
	env.Exec(t, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, '2026-11-19', 90, 'draft')`, company, adaOnApollo, apollo, p.ada)
	env.Exec(t, `UPDATE time_entries SET status = 'submitted', updated_at = now() WHERE work_date = '2026-11-19' AND company_id = $1`, company)
	return apollo, gemini, adaOnApollo, draft
}

// gap is what happens while capture is down: a rename with an activation, a
// new project, engagements accepted, started and ended, an entry edited then
// submitted, new entries. It returns the id of the new project, which only a
// resync brings to Align.
func gap(t *testing.T, env *testenv.Env, company string, p people, apollo, gemini, adaOnApollo, draft string) (mercury string) {
	mercury, bobOnGemini, cydOnApollo, danOnMercury := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	env.Exec(t, `UPDATE projects SET title = 'Gemini II', status = 'active', updated_at = now() WHERE id = $1`, gemini)
	env.Exec(t, `INSERT INTO projects (id, company_id, title, status) VALUES ($1, $2, 'Mercury', 'open')`, mercury, company)
	env.Exec(t, `INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 8000, 'accepted')`,
		bobOnGemini, company, gemini, p.bob)
	env.Exec(t, `UPDATE engagements SET status = 'active', updated_at = now() WHERE id = $1`, bobOnGemini)
	env.Exec(t, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, '2026-11-21', 120, 'submitted')`, company, bobOnGemini, gemini, p.bob)
	env.Exec(t, `UPDATE time_entries SET minutes = 75, description = 'reviewed', updated_at = now() WHERE id = $1`, draft)
	env.Exec(t, `UPDATE time_entries SET status = 'submitted', updated_at = now() WHERE id = $1`, draft)
	env.Exec(t, `INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 7000, 'accepted')`,
		cydOnApollo, company, apollo, p.cyd)
	env.Exec(t, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
		VALUES ($1, $2, $3, $4, '2026-11-22', 45, 'draft')`, company, cydOnApollo, apollo, p.cyd)
	env.Exec(t, `UPDATE engagements SET status = 'ended', updated_at = now() WHERE id = $1`, cydOnApollo)
	env.Exec(t, `INSERT INTO engagements (id, company_id, project_id, talent_id, rate_cents, status) VALUES ($1, $2, $3, $4, 6000, 'accepted')`,
		danOnMercury, company, mercury, p.dan)
	env.Exec(t, `UPDATE engagements SET status = 'active', updated_at = now() WHERE id = $1`, danOnMercury)
	return mercury
}
