package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/sinks/align"
)

// Keys gives a company's Align API key (*credentials.Store).
type Keys interface {
	APIKey(ctx context.Context, companyID string) (string, error)
}

// DefaultRatePerMinute is the reconciler's budget per Align key. Align allows
// 600 requests a minute per key and the sink, in another process, draws from
// the same allowance: a run reading many pages must not starve it.
const DefaultRatePerMinute = 120

// DefaultWindow is the window of a run that names none.
var DefaultWindow = Window{Days: 7}

// Config assembles a Reconciler.
type Config struct {
	Pool               *pgxpool.Pool
	Keys               Keys
	AlignBaseURL       string       // with the version, e.g. https://app.alignsoft.us/api/v1
	AlignHTTPClient    *http.Client // nil: the client's own
	AlignRatePerMinute int          // per key; default DefaultRatePerMinute
	Metrics            *Metrics     // nil: not measured
	Logger             *slog.Logger // nil: discarded
	Now                func() time.Time
}

// Reconciler compares and repairs. It is stateless between runs; several
// instances may share one database.
type Reconciler struct {
	cfg      Config
	limiters *align.Limiters
	logger   *slog.Logger
}

// New checks cfg and returns a Reconciler.
func New(cfg Config) (*Reconciler, error) {
	var errs []error
	if cfg.Pool == nil {
		errs = append(errs, errors.New("reconcile: Pool is required"))
	}
	if cfg.Keys == nil {
		errs = append(errs, errors.New("reconcile: Keys is required"))
	}
	if cfg.AlignBaseURL == "" {
		errs = append(errs, errors.New("reconcile: AlignBaseURL is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.AlignRatePerMinute <= 0 {
		cfg.AlignRatePerMinute = DefaultRatePerMinute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{cfg: cfg, limiters: align.NewLimiters(), logger: logger}, nil
}

// Options choose what a run covers.
type Options struct {
	CompanyID string // empty: every connected company
	Window    Window // zero: DefaultWindow
	Repair    bool
}

var (
	// ErrBusy: another run holds the lock; nothing was done.
	ErrBusy = errors.New("another reconciliation is running; try again when it has finished")
	// ErrIncomplete: the run finished, but some company or project could not
	// be compared (their errors are in the report).
	ErrIncomplete = errors.New("reconciliation incomplete: some companies or projects could not be compared")

	errSlotTaken = errors.New("this nightly slot already ran")
)

// Run reconciles now. It returns the report together with ErrIncomplete when
// some company or project failed, and an empty report with an error when
// nothing could be compared.
func (r *Reconciler) Run(ctx context.Context, opts Options) (Report, error) {
	return r.run(ctx, opts, nil)
}

// run reconciles under the lock; slot is the nightly slot, or nil for a
// manual run (which does not wait for the lock).
func (r *Reconciler) run(ctx context.Context, opts Options, slot *time.Time) (Report, error) {
	if opts.Window == (Window{}) {
		opts.Window = DefaultWindow
	}
	if opts.CompanyID != "" {
		id, err := uuid.Parse(opts.CompanyID)
		if err != nil {
			return Report{}, fmt.Errorf("company %q is not a UUID", opts.CompanyID)
		}
		opts.CompanyID = id.String()
	}
	release, err := r.lock(ctx, slot != nil)
	if err != nil {
		return Report{}, err
	}
	defer release()

	rep := Report{RunID: uuid.NewString(), StartedAt: r.cfg.Now().UTC(), Window: opts.Window.String(), Repair: opts.Repair,
		Companies: []CompanyReport{}}
	rep.StartDate, rep.EndDate = opts.Window.Dates(rep.StartedAt)
	if err := r.begin(ctx, rep, opts, slot); err != nil {
		return Report{}, err
	}
	cs, err := companies(ctx, r.cfg.Pool, opts.CompanyID)
	if err == nil {
		for _, c := range cs {
			rep.add(r.company(ctx, rep, c, opts.Repair))
			if err = ctx.Err(); err != nil {
				break
			}
		}
	}
	rep.FinishedAt = r.cfg.Now().UTC()
	outcome := outcomeSucceeded
	switch {
	case err != nil:
		outcome = outcomeFailed
	case rep.Totals.Errors > 0:
		outcome, err = outcomeIncomplete, ErrIncomplete
	}
	r.finish(ctx, rep, outcome, err)
	r.cfg.Metrics.observe(rep, outcome)
	if outcome == outcomeFailed {
		return Report{}, err
	}
	return rep, err
}

// company reconciles one company: compare every linked project, record the
// differences, check the links, then repair (or list what a repair would do).
func (r *Reconciler) company(ctx context.Context, rep Report, c company, repair bool) CompanyReport {
	cr := CompanyReport{CompanyID: c.ID, Projects: []ProjectReport{}, LinkProblems: []LinkProblem{}, Repairs: []Repair{}}
	api, err := r.client(ctx, c.ID)
	if err != nil {
		cr.Error = err.Error()
		return cr
	}
	plans, err := r.compareProjects(ctx, api, rep, c, &cr)
	if err != nil {
		cr.Error = err.Error()
		return cr
	}
	var errs []string
	if cr.Resolved, err = recordDiscrepancies(ctx, r.cfg.Pool, rep.RunID, c.ID, rep.StartedAt, cr.Projects); err != nil {
		errs = append(errs, err.Error())
	}
	if links, err := entityLinks(ctx, r.cfg.Pool, c.ID); err != nil {
		errs = append(errs, err.Error())
	} else if problems, err := checkLinks(ctx, api, links); err != nil {
		errs = append(errs, err.Error())
	} else if problems != nil {
		cr.LinkProblems = problems
	}
	if !repair {
		cr.Repairs = append(cr.Repairs, plans...)
	} else {
		fix := repairer{pool: r.cfg.Pool, runID: rep.RunID, companyID: c.ID}
		for _, plan := range plans {
			done, err := fix.apply(ctx, plan)
			if err != nil {
				errs = append(errs, err.Error())
				done.Note = "failed: " + err.Error()
			}
			cr.Repairs = append(cr.Repairs, done)
		}
	}
	cr.Error = strings.Join(errs, "; ")
	return cr
}

// compareProjects compares each linked project into cr and returns the
// repairs the comparisons call for. A project that cannot be compared carries
// its error and the others go on.
func (r *Reconciler) compareProjects(ctx context.Context, api *align.Client, rep Report, c company, cr *CompanyReport) ([]Repair, error) {
	projects, err := linkedProjects(ctx, r.cfg.Pool, c.ID)
	if err != nil {
		return nil, err
	}
	inFlight, err := ledger.OpenEntities(ctx, r.cfg.Pool, c.ID, "time_entry")
	if err != nil {
		return nil, err
	}
	var plans []Repair
	for _, p := range projects {
		pr, cmp, err := r.project(ctx, api, c, p, rep.StartDate, rep.EndDate, inFlight)
		if err != nil {
			pr.Error = err.Error()
		} else {
			plans = append(plans, planRepairs(cmp)...)
		}
		cr.Projects = append(cr.Projects, pr)
	}
	return plans, nil
}

// project compares one linked project over the window.
func (r *Reconciler) project(ctx context.Context, api *align.Client, c company, p projectLink, start, end string, inFlight map[string]bool) (ProjectReport, comparison, error) {
	pr := ProjectReport{ProjectID: p.ID, AlignProjectID: p.AlignID, Discrepancies: []Discrepancy{}}
	ill, err := projectEntries(ctx, r.cfg.Pool, c, p.ID, start, end, inFlight)
	if err != nil {
		return pr, comparison{}, err
	}
	al, err := align.Collect(api.ListProjectTimeEntries(ctx, p.AlignID, align.TimeEntryFilter{StartDate: start, EndDate: end}))
	if err != nil {
		return pr, comparison{}, fmt.Errorf("listing Align's time entries of project %s: %w", p.AlignID, err)
	}
	cmp := compare(ill, al)
	pr.IllumeraEntries, pr.AlignEntries, pr.AlignForeignEntries = cmp.IllumeraEntries, cmp.AlignEntries, cmp.ForeignEntries
	pr.EntriesCompared = cmp.Compared
	pr.IllumeraApprovedMinutes, pr.AlignApprovedMinutes = cmp.IllumeraMinutes, cmp.AlignMinutes
	pr.IllumeraApprovedCostCents, pr.AlignApprovedCostCents = cmp.IllumeraCost, cmp.AlignCost
	pr.Discrepancies = append(pr.Discrepancies, cmp.discrepancies()...)
	return pr, cmp, nil
}

// client builds the company's Align client; the key lives only in it.
func (r *Reconciler) client(ctx context.Context, companyID string) (*align.Client, error) {
	return alignClient(ctx, r.cfg.Keys, companyID, align.Config{BaseURL: r.cfg.AlignBaseURL, HTTPClient: r.cfg.AlignHTTPClient,
		RatePerMinute: r.cfg.AlignRatePerMinute, Limiters: r.limiters, UserAgent: "alignsync-reconcile"})
}

// alignClient builds an Align client of cfg with the company's key.
func alignClient(ctx context.Context, keys Keys, companyID string, cfg align.Config) (*align.Client, error) {
	key, err := keys.APIKey(ctx, companyID)
	if err != nil {
		return nil, fmt.Errorf("loading the Align key: %w", err)
	}
	cfg.APIKey = key
	c, err := align.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the Align client: %w", err)
	}
	return c, nil
}
