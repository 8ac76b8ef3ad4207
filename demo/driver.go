package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// driver plays Illumera's users (admins, talent) by writing rows, and Align's
// managers through the simulator's control API.
type driver struct {
	w         *world
	companies []company
	rng       *rand.Rand
	start     time.Time // the workload's start, t=0 of the progress lines
	changes   atomic.Int64
	managed   atomic.Int64
}

func newDriver(w *world, companies []company, seed uint64) *driver {
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &driver{w: w, companies: companies, rng: rand.New(rand.NewPCG(seed, 0xa119)), start: time.Now()}
}

// since is the time since the workload started, for what the demo prints.
func (d *driver) since() time.Duration { return time.Since(d.start).Round(time.Second) }

// run acts every 150 ms per company and manages approvals every 400 ms.
func (d *driver) run(ctx context.Context) {
	act, manage := time.NewTicker(150*time.Millisecond), time.NewTicker(400*time.Millisecond)
	defer act.Stop()
	defer manage.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-act.C:
			for _, c := range d.companies {
				if err := d.act(ctx, c); err != nil && ctx.Err() == nil {
					fmt.Fprintf(d.w.opts.Out, "workload: %s: %v\n", c.Name, err)
				}
			}
		case <-manage.C:
			for _, c := range d.companies {
				d.manage(ctx, c)
			}
		}
	}
}

// exec writes one change as the Illumera application would.
func (d *driver) exec(ctx context.Context, sql string, args ...any) error {
	tag, err := d.w.pool.Exec(ctx, sql, args...)
	d.changes.Add(tag.RowsAffected())
	return err
}

// pick returns one id matching the query, or "" when none does.
func (d *driver) pick(ctx context.Context, sql string, args ...any) string {
	var id string
	_ = d.w.pool.QueryRow(ctx, sql+" ORDER BY random() LIMIT 1", args...).Scan(&id)
	return id
}

func (d *driver) act(ctx context.Context, c company) error {
	switch r := d.rng.IntN(100); {
	case r < 8:
		return d.newProject(ctx, c)
	case r < 14:
		if p := d.pick(ctx, `SELECT id::text FROM projects WHERE company_id = $1 AND status IN ('draft','open')`, c.ID); p != "" {
			return d.exec(ctx, `UPDATE projects SET status = 'active', updated_at = now() WHERE id = $1`, p)
		}
	case r < 24:
		return d.engage(ctx, c)
	case r < 32:
		if e := d.pick(ctx, `SELECT id::text FROM engagements WHERE company_id = $1 AND status = 'invited'`, c.ID); e != "" {
			return d.exec(ctx, `UPDATE engagements SET status = 'accepted', updated_at = now() WHERE id = $1`, e)
		}
	case r < 60:
		return d.logTime(ctx, c)
	case r < 80:
		if e := d.pick(ctx, `SELECT id::text FROM time_entries WHERE company_id = $1 AND status = 'draft'`, c.ID); e != "" {
			return d.exec(ctx, `UPDATE time_entries SET status = 'submitted', updated_at = now() WHERE id = $1`, e)
		}
	case r < 88:
		if e := d.pick(ctx, `SELECT id::text FROM time_entries WHERE company_id = $1 AND status = 'draft'`, c.ID); e != "" {
			return d.exec(ctx, `UPDATE time_entries SET minutes = $2, updated_at = now() WHERE id = $1`, e, 15*(1+d.rng.IntN(32)))
		}
	case r < 97:
		return d.adjust(ctx, c)
	default:
		if e := d.pick(ctx, `SELECT id::text FROM engagements WHERE company_id = $1 AND status = 'accepted'
			AND (SELECT count(*) FROM engagements x WHERE x.company_id = $1 AND x.status = 'accepted') > 2`, c.ID); e != "" {
			return d.exec(ctx, `UPDATE engagements SET status = 'ended', updated_at = now() WHERE id = $1`, e)
		}
	}
	return nil
}

var roleTitles = []string{"Backend engineer", "Data analyst", "Cloud architect", "Security engineer", "Program manager", "QA lead"}
var projectTitles = []string{"Claims modernization", "Logistics portal", "Grant tracking", "Records digitization", "Fleet telemetry", "Benefits API"}

func (d *driver) newProject(ctx context.Context, c company) error {
	id := uuid.NewString()
	title := fmt.Sprintf("%s %d", projectTitles[d.rng.IntN(len(projectTitles))], d.rng.IntN(900)+100)
	if err := d.exec(ctx, `INSERT INTO projects (id, company_id, title, description, status, start_date)
		VALUES ($1, $2, $3, 'Demo project', 'draft', current_date)`, id, c.ID, title); err != nil {
		return err
	}
	for i := 0; i < 1+d.rng.IntN(3); i++ {
		if err := d.exec(ctx, `INSERT INTO project_roles (project_id, company_id, title, hours_per_week, duration_weeks)
			VALUES ($1, $2, $3, $4, $5)`, id, c.ID, roleTitles[d.rng.IntN(len(roleTitles))], 10*(1+d.rng.IntN(4)), 4*(1+d.rng.IntN(6))); err != nil {
			return err
		}
	}
	return d.exec(ctx, `UPDATE projects SET status = 'open', updated_at = now() WHERE id = $1`, id)
}

func (d *driver) engage(ctx context.Context, c company) error {
	p := d.pick(ctx, `SELECT id::text FROM projects WHERE company_id = $1 AND status = 'active'`, c.ID)
	if p == "" {
		return nil
	}
	talent := uuid.NewString()
	if err := d.exec(ctx, `INSERT INTO talent (id, email, full_name) VALUES ($1, $2, $3)`,
		talent, "talent-"+talent[:8]+"@example.com", "Talent "+talent[:8]); err != nil {
		return err
	}
	return d.exec(ctx, `INSERT INTO engagements (company_id, project_id, talent_id, rate_cents, status)
		VALUES ($1, $2, $3, $4, 'invited')`, c.ID, p, talent, 5000+100*d.rng.IntN(150))
}

func (d *driver) logTime(ctx context.Context, c company) error {
	var eng, project, talent string
	err := d.w.pool.QueryRow(ctx, `SELECT id::text, project_id::text, talent_id::text FROM engagements
		WHERE company_id = $1 AND status IN ('accepted','active') ORDER BY random() LIMIT 1`, c.ID).Scan(&eng, &project, &talent)
	if err != nil {
		return nil // nobody to log time yet
	}
	return d.exec(ctx, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, description)
		VALUES ($1, $2, $3, $4, current_date - $5::int, $6, 'Sprint work')`, c.ID, eng, project, talent, d.rng.IntN(5), 15*(1+d.rng.IntN(32)))
}

// adjust answers a rejection with a corrected entry that references it.
func (d *driver) adjust(ctx context.Context, c company) error {
	// Only while the engagement lasts: once it ended, Align no longer has the
	// talent on the project and refuses their time (a failed operation).
	orig := d.pick(ctx, `SELECT t.id::text FROM time_entries t JOIN engagements e ON e.id = t.engagement_id
		WHERE t.company_id = $1 AND t.status = 'rejected' AND e.status IN ('accepted', 'active')
		AND NOT EXISTS (SELECT 1 FROM time_entries a WHERE a.adjustment_of = t.id)`, c.ID)
	if orig == "" {
		return nil
	}
	return d.exec(ctx, `INSERT INTO time_entries (company_id, engagement_id, project_id, talent_id, work_date, minutes, description, status, adjustment_of)
		SELECT company_id, engagement_id, project_id, talent_id, work_date, greatest(15, minutes - 15), 'Adjustment: ' || coalesce(rejection_reason, ''), 'submitted', id
		FROM time_entries WHERE id = $1`, orig)
}

var rejectionReasons = []string{"Wrong project code", "Hours exceed the approved estimate", "Missing task description"}

// manage plays the company's Align approvers on what was submitted.
func (d *driver) manage(ctx context.Context, c company) {
	st, err := d.w.align.Control.State(ctx, c.Org.OrganizationID)
	if err != nil {
		return
	}
	ctl := d.w.align.Control
	for _, e := range st.TimeEntries {
		var err error
		switch {
		case e.Status == "submitted" && d.rng.IntN(100) < 50:
			if d.rng.IntN(100) < 20 {
				_, err = ctl.Reject(ctx, e.ID, rejectionReasons[d.rng.IntN(len(rejectionReasons))])
			} else {
				_, err = ctl.Approve(ctx, e.ID)
			}
		case e.Status == "approved" && d.rng.IntN(100) < 25:
			_, err = ctl.Lock(ctx, e.ID)
		case e.Status == "locked" && d.rng.IntN(100) < 25:
			_, err = ctl.Invoice(ctx, e.ID)
		default:
			continue
		}
		if err == nil {
			d.managed.Add(1)
		}
	}
}
