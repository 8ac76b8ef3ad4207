package systemtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// workload plays Illumera's users: company admins create and activate
// projects with open roles and engage talent; talent accept, log time, edit
// and submit it, and answer a rejection by editing and resubmitting or by an
// adjustment entry; engagements end. Every write is a plain SQL statement,
// as the Illumera application makes them: alignsync sees only the WAL.
type workload struct {
	pool      *pgxpool.Pool
	companies []company
	seed      uint64
	every     time.Duration // between two actions of one company

	changes atomic.Int64 // rows written
	failed  atomic.Int64 // statements that failed (a harness problem)
	mu      sync.Mutex
	errs    []string
}

// run acts for every company until ctx ends.
func (w *workload) run(ctx context.Context) {
	everyCompany(ctx, w.companies, w.every, w.seed, 0, func(c company, rng *rand.Rand) {
		if err := w.act(ctx, c, rng); err != nil && ctx.Err() == nil {
			w.failure(fmt.Errorf("company %s: %w", c.Name, err))
		}
	})
}

// everyCompany calls act for each company, concurrently, every interval until
// ctx ends, each company with its own random stream (seed, stream + its
// index), so that a seed replays the same choices.
func everyCompany(ctx context.Context, companies []company, every time.Duration, seed, stream uint64,
	act func(company, *rand.Rand),
) {
	var wg sync.WaitGroup
	for i, c := range companies {
		rng := rand.New(rand.NewPCG(seed, stream+uint64(i)))
		wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				act(c, rng)
			}
		})
	}
	wg.Wait()
}

func (w *workload) failure(err error) {
	w.failed.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) < 10 {
		w.errs = append(w.errs, err.Error())
	}
}

func (w *workload) exec(ctx context.Context, sql string, args ...any) error {
	tag, err := w.pool.Exec(ctx, sql, args...)
	w.changes.Add(tag.RowsAffected())
	return err
}

// pick returns the id of a random row the query selects, or "".
func (w *workload) pick(ctx context.Context, sql string, args ...any) string {
	var id string
	_ = w.pool.QueryRow(ctx, sql+" ORDER BY random() LIMIT 1", args...).Scan(&id)
	return id
}

// act makes one change, chosen at random with these weights (percent).
func (w *workload) act(ctx context.Context, c company, rng *rand.Rand) error {
	switch r := rng.IntN(100); {
	case r < 7:
		return w.newProject(ctx, c, rng)
	case r < 13:
		return w.update(ctx, `UPDATE projects SET status = 'active', updated_at = now() WHERE id = $1`,
			w.pick(ctx, `SELECT id::text FROM projects WHERE company_id = $1 AND status IN ('draft', 'open')`, c.ID))
	case r < 16:
		return w.update(ctx, `UPDATE projects SET title = title || ' II', updated_at = now() WHERE id = $1`,
			w.pick(ctx, `SELECT id::text FROM projects WHERE company_id = $1 AND length(title) < 60`, c.ID))
	case r < 26:
		return w.engage(ctx, c, rng)
	case r < 34:
		return w.update(ctx, `UPDATE engagements SET status = 'accepted', updated_at = now() WHERE id = $1`,
			w.pick(ctx, `SELECT id::text FROM engagements WHERE company_id = $1 AND status = 'invited'`, c.ID))
	case r < 36:
		return w.update(ctx, `UPDATE engagements SET status = 'declined', updated_at = now() WHERE id = $1`,
			w.pick(ctx, `SELECT id::text FROM engagements WHERE company_id = $1 AND status = 'invited'`, c.ID))
	case r < 61:
		return w.logTime(ctx, c, rng)
	case r < 76:
		return w.update(ctx, `UPDATE time_entries SET status = 'submitted', updated_at = now() WHERE id = $1`,
			w.pick(ctx, `SELECT id::text FROM time_entries WHERE company_id = $1 AND status = 'draft'`, c.ID))
	case r < 83:
		return w.update(ctx, `UPDATE time_entries SET minutes = 15 * (1 + (minutes / 15) % 32), description = 'Edited: ' || coalesce(description, ''),
			updated_at = now() WHERE id = $1`, w.pick(ctx, `SELECT id::text FROM time_entries WHERE company_id = $1 AND status = 'draft'`, c.ID))
	case r < 89:
		return w.adjust(ctx, c)
	case r < 94:
		return w.resubmit(ctx, c)
	case r < 97:
		return w.endEngagement(ctx, c)
	}
	return nil
}

// update runs a one-row statement on id, when a row was found.
func (w *workload) update(ctx context.Context, sql, id string) error {
	if id == "" {
		return nil
	}
	return w.exec(ctx, sql, id)
}

var roleTitles = []string{"Backend engineer", "Data analyst", "Cloud architect", "Security engineer", "Program manager", "QA lead"}
var projectTitles = []string{"Claims modernization", "Logistics portal", "Grant tracking", "Records digitization", "Fleet telemetry"}

// newProject creates a draft project with its open roles, then opens it.
func (w *workload) newProject(ctx context.Context, c company, rng *rand.Rand) error {
	id := uuid.NewString()
	title := fmt.Sprintf("%s %d", projectTitles[rng.IntN(len(projectTitles))], rng.IntN(900)+100)
	if err := w.exec(ctx, `INSERT INTO projects (id, company_id, title, description, status, start_date)
		VALUES ($1, $2, $3, 'System test project', 'draft', current_date)`, id, c.ID, title); err != nil {
		return err
	}
	for i := 0; i < 1+rng.IntN(3); i++ {
		if err := w.exec(ctx, `INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks)
			VALUES ($1, $2, $3, $4, $5)`, id, c.ID, roleTitles[rng.IntN(len(roleTitles))], 10*(1+rng.IntN(4)), 4*(1+rng.IntN(6))); err != nil {
			return err
		}
	}
	return w.exec(ctx, `UPDATE projects SET status = 'open', updated_at = now() WHERE id = $1`, id)
}

// engage invites a new talent to an active project.
func (w *workload) engage(ctx context.Context, c company, rng *rand.Rand) error {
	p := w.pick(ctx, `SELECT id::text FROM projects WHERE company_id = $1 AND status = 'active'`, c.ID)
	if p == "" {
		return nil
	}
	talent := uuid.NewString()
	if err := w.exec(ctx, `INSERT INTO talent (id, email, full_name) VALUES ($1, $2, $3)`,
		talent, "talent-"+talent[:8]+"@example.com", "Talent "+talent[:8]); err != nil {
		return err
	}
	return w.exec(ctx, `INSERT INTO engagements (company_id, project_id, talent_id, rate_cents, status)
		VALUES ($1, $2, $3, $4, 'invited')`, c.ID, p, talent, 5000+100*rng.IntN(150))
}

// logTime logs a draft entry on an accepted engagement.
func (w *workload) logTime(ctx context.Context, c company, rng *rand.Rand) error {
	e := w.pick(ctx, `SELECT id::text FROM engagements WHERE company_id = $1 AND status = 'accepted'`, c.ID)
	if e == "" {
		return nil
	}
	return w.exec(ctx, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, description)
		SELECT company_id, id, project_id, talent_id, current_date - $2::int, $3, 'Sprint work' FROM engagements WHERE id = $1`,
		e, rng.IntN(5), 15*(1+rng.IntN(32)))
}

// rejectedOpen selects a rejected entry of an engagement still accepted
// that nobody answered yet: Align refuses time of a talent who is no longer
// a member of the project.
const rejectedOpen = `SELECT t.id::text FROM time_entries t JOIN engagements e ON e.id = t.engagement_id
	WHERE t.company_id = $1 AND t.status = 'rejected' AND e.status = 'accepted'
	AND NOT EXISTS (SELECT 1 FROM time_entries a WHERE a.adjustment_of = t.id)`

// adjust answers a rejection with a corrected entry that references it.
func (w *workload) adjust(ctx context.Context, c company) error {
	orig := w.pick(ctx, rejectedOpen, c.ID)
	if orig == "" {
		return nil
	}
	return w.exec(ctx, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, description, status, adjustment_of)
		SELECT company_id, engagement_id, project_id, talent_id, work_date, greatest(15, minutes - 15),
		'Adjustment: ' || coalesce(rejection_reason, ''), 'submitted', id FROM time_entries WHERE id = $1`, orig)
}

// resubmit answers a rejection by editing the entry and submitting it again.
func (w *workload) resubmit(ctx context.Context, c company) error {
	return w.update(ctx, `UPDATE time_entries SET minutes = minutes + 15 - minutes % 15, description = 'Corrected: ' || coalesce(rejection_reason, ''),
		status = 'submitted', updated_at = now() WHERE id = $1 AND minutes <= 1400`, w.pick(ctx, rejectedOpen, c.ID))
}

// endEngagement ends an accepted engagement, whatever of its time entries is
// still on its way to Align (the removal waits for them: see
// TestEndedMemberStaysRemoved).
func (w *workload) endEngagement(ctx context.Context, c company) error {
	sql := `SELECT id::text FROM engagements e WHERE company_id = $1 AND status = 'accepted'`
	return w.update(ctx, `UPDATE engagements SET status = 'ended', updated_at = now() WHERE id = $1`, w.pick(ctx, sql, c.ID))
}
