package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/illumera/alignsync/internal/testenv"
	"github.com/illumera/alignsync/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestMigrateIsIdempotent(t *testing.T) {
	env := testenv.New(t) // already migrated once, with the reference schema
	for i := 0; i < 2; i++ {
		applied, err := store.Migrate(context.Background(), env.DatabaseURL, store.MigrateOptions{Reference: true})
		if err != nil || len(applied) != 0 {
			t.Fatalf("run %d: applied %v (%v), want nothing to do", i+2, applied, err)
		}
	}
}

// TestConstraintsEnforceTheGuarantees: the database itself refuses what would
// double or corrupt work.
func TestConstraintsEnforceTheGuarantees(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	company, conn := uuid.NewString(), uuid.NewString()
	env.Exec(t, `INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key) VALUES ($1, 'project', 'p1', 'project.create', 'k1')`, company)
	env.Exec(t, `INSERT INTO align_sync.webhook_deliveries (delivery_id, company_id, connection_id, event_name, payload) VALUES ('d1', $1, $2, 'time.approved', '{}')`, company, conn)
	env.Exec(t, `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id) VALUES ($1, 'project', 'p1', 'a1')`, company)
	refused := []struct{ name, sql, want string }{
		{"duplicate idempotency key", `INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key) VALUES ($1, 'project', 'p2', 'project.create', 'k1')`, "unique"},
		{"duplicate delivery id of one connection", `INSERT INTO align_sync.webhook_deliveries (delivery_id, company_id, connection_id, event_name, payload) VALUES ('d1', $1, '` + conn + `', 'time.approved', '{}')`, "unique"},
		{"second link for one entity", `INSERT INTO align_sync.entity_links (company_id, entity_type, illumera_id, align_id) VALUES ($1, 'project', 'p1', 'a2')`, "duplicate key"},
		{"unknown outbox status", `UPDATE align_sync.outbox SET status = 'lost' WHERE company_id = $1`, "check"},
		{"unknown entity type", `INSERT INTO align_sync.outbox (company_id, entity_type, entity_id, op, idempotency_key) VALUES ($1, 'invoice', 'x', 'x', 'k9')`, "check"},
		{"unknown connection status", `INSERT INTO align_sync.connections (company_id, status, api_key_ciphertext) VALUES ($1, 'paused', 'x')`, "check"},
		{"connected without a key", `INSERT INTO align_sync.connections (company_id, status) VALUES ($1, 'connected')`, "check"},
		{"unknown delivery status", `UPDATE align_sync.webhook_deliveries SET status = 'lost' WHERE company_id = $1`, "check"},
		{"unknown discrepancy field", `INSERT INTO align_sync.reconciliation_discrepancies (run_id, company_id, field, illumera_value, align_value) VALUES (gen_random_uuid(), $1, 'hours', 1, 2)`, "check"},
		// CHECK constraints are tested before foreign keys, so no parent rows are needed.
		{"unknown time entry status", `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, status)
			VALUES ($1, gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), current_date, 10, 'paid')`, "check"},
	}
	// Another connection's delivery may carry the same id (ids are unique per connection).
	env.Exec(t, `INSERT INTO align_sync.webhook_deliveries (delivery_id, company_id, connection_id, event_name, payload) VALUES ('d1', $1, gen_random_uuid(), 'time.approved', '{}')`, company)
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			_, err := env.Pool.Exec(ctx, r.sql, company)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), r.want) {
				t.Fatalf("got %v, want a %s violation", err, r.want)
			}
		})
	}
}
