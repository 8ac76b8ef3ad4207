package capture

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/internal/testenv"
)

// workload makes a mix of inserts, updates and deletes across the synced
// tables, in transactions of 1 to 25 row changes, counting every row change.
type workload struct {
	env         *testenv.Env
	engagements []engagement
	projects    []string
	entries     []string // live time entry ids
	rows        int
}

type engagement struct{ id, company, project, talent string }

func newWorkload(t *testing.T, env *testenv.Env) *workload {
	t.Helper()
	ctx := context.Background()
	w := &workload{env: env}
	err := pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error {
		for i := 0; i < 10; i++ {
			var c, tal string
			if err := tx.QueryRow(ctx, `INSERT INTO companies (name) VALUES ($1) RETURNING id`, fmt.Sprintf("co %d", i)).Scan(&c); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO talent (email, full_name) VALUES ($1, 'T') RETURNING id`, fmt.Sprintf("t%d@example.com", i)).Scan(&tal); err != nil {
				return err
			}
			w.rows += 2
			for j := 0; j < 2; j++ {
				e := engagement{company: c, talent: tal}
				if err := tx.QueryRow(ctx, `INSERT INTO projects (company_id, title) VALUES ($1, 'p') RETURNING id`, c).Scan(&e.project); err != nil {
					return err
				}
				if err := tx.QueryRow(ctx, `INSERT INTO engagements (company_id, project_id, talent_id, rate_cents) VALUES ($1, $2, $3, 10000) RETURNING id`,
					c, e.project, tal).Scan(&e.id); err != nil {
					return err
				}
				w.rows += 2
				w.projects = append(w.projects, e.project)
				w.engagements = append(w.engagements, e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seeding: %v", err)
	}
	return w
}

// run makes row changes until the total reaches n, at about crashRate per
// second, publishing its progress.
func (w *workload) run(t *testing.T, n int, progress *atomic.Int64) {
	t.Helper()
	ctx := context.Background()
	start, done := time.Now(), 0
	for w.rows < n {
		size := min(1+rand.IntN(25), n-w.rows)
		if err := pgx.BeginFunc(ctx, w.env.Pool, func(tx pgx.Tx) error { return w.txn(ctx, tx, size) }); err != nil {
			t.Fatalf("workload: %v", err)
		}
		w.rows += size
		done += size
		progress.Store(int64(done))
		if ahead := time.Duration(done)*time.Second/crashRate - time.Since(start); ahead > 0 {
			time.Sleep(ahead) // pacing the workload, not waiting for a result
		}
	}
}

func (w *workload) txn(ctx context.Context, tx pgx.Tx, size int) error {
	for i := 0; i < size; i++ {
		if err := w.change(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// change makes exactly one row change.
func (w *workload) change(ctx context.Context, tx pgx.Tx) error {
	r := rand.Float64()
	switch {
	case r < 0.45 || len(w.entries) < 10:
		e := w.engagements[rand.IntN(len(w.engagements))]
		var id string
		err := tx.QueryRow(ctx, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, description)
			VALUES ($1, $2, $3, $4, current_date, $5, 'work') RETURNING id`, e.company, e.id, e.project, e.talent, 1+rand.IntN(600)).Scan(&id)
		w.entries = append(w.entries, id)
		return err
	case r < 0.75:
		_, err := tx.Exec(ctx, `UPDATE time_entries SET minutes = $2, status = $3, updated_at = now() WHERE id = $1`,
			w.entries[rand.IntN(len(w.entries))], 1+rand.IntN(600), []string{"draft", "submitted", "approved"}[rand.IntN(3)])
		return err
	case r < 0.85:
		i := rand.IntN(len(w.entries))
		id := w.entries[i]
		w.entries[i] = w.entries[len(w.entries)-1]
		w.entries = w.entries[:len(w.entries)-1]
		_, err := tx.Exec(ctx, `DELETE FROM time_entries WHERE id = $1`, id)
		return err
	case r < 0.95:
		_, err := tx.Exec(ctx, `UPDATE projects SET description = $2, updated_at = now() WHERE id = $1`,
			w.projects[rand.IntN(len(w.projects))], fmt.Sprintf("revision %d", rand.IntN(1000)))
		return err
	default:
		_, err := tx.Exec(ctx, `UPDATE engagements SET rate_cents = $2 WHERE id = $1`,
			w.engagements[rand.IntN(len(w.engagements))].id, 5000+rand.IntN(10000))
		return err
	}
}
