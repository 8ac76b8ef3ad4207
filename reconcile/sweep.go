package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/illumera/alignsync/ingest"
	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/sinks/align"
)

// Status sweep defaults: entries whose status Illumera last changed more
// than DefaultSweepMinAge ago are read from Align every DefaultSweepInterval,
// at most DefaultSweepBatch per company and round, at
// DefaultSweepRatePerMinute per key (a tenth of Align's 600, which the sink
// shares). The minimum age leaves a webhook time to arrive on its own.
const (
	DefaultSweepInterval      = time.Minute
	DefaultSweepMinAge        = 2 * time.Minute
	DefaultSweepBatch         = 50
	DefaultSweepRatePerMinute = 60
	// sweepWorkers companies are swept at once; each has its own key and
	// budget, so one slow company does not hold the others up.
	sweepWorkers = 8
)

// sweepLockKey names the advisory lock a sweep round holds, so that several
// serve instances do not read the same entries twice.
const sweepLockKey = `hashtextextended('alignsync.status-sweep', 0)`

// SweepConfig assembles a Sweeper; zero values take the defaults.
type SweepConfig struct {
	Pool            *pgxpool.Pool
	Keys            Keys
	AlignBaseURL    string       // with the version, e.g. https://app.alignsoft.us/api/v1
	AlignHTTPClient *http.Client // nil: the client's own
	Interval        time.Duration
	MinAge          time.Duration
	Batch           int
	RatePerMinute   int
	Metrics         *Metrics     // nil: not counted
	Logger          *slog.Logger // nil: discarded
}

// Sweeper heals statuses whose webhook never arrived: it reads from Align
// the time entries Illumera holds as submitted, approved or locked, and
// writes back what Align is ahead by with ingest.ApplyRepair (the webhook
// handler's lifecycle, recorded as a delivery marked repaired). It never
// writes to Align.
type Sweeper struct {
	cfg      SweepConfig
	limiters *align.Limiters
	log      *slog.Logger
}

// NewSweeper checks cfg and returns a Sweeper.
func NewSweeper(cfg SweepConfig) (*Sweeper, error) {
	var errs []error
	if cfg.Pool == nil {
		errs = append(errs, errors.New("status sweep: Pool is required"))
	}
	if cfg.Keys == nil {
		errs = append(errs, errors.New("status sweep: Keys is required"))
	}
	if cfg.AlignBaseURL == "" {
		errs = append(errs, errors.New("status sweep: AlignBaseURL is required"))
	}
	for _, v := range []struct {
		name  string
		value int64
	}{{"Interval", int64(cfg.Interval)}, {"MinAge", int64(cfg.MinAge)}, {"Batch", int64(cfg.Batch)}, {"RatePerMinute", int64(cfg.RatePerMinute)}} {
		if v.value < 0 {
			errs = append(errs, fmt.Errorf("status sweep: %s is negative", v.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.Interval = orDefault(cfg.Interval, DefaultSweepInterval)
	cfg.MinAge = orDefault(cfg.MinAge, DefaultSweepMinAge)
	cfg.Batch = orDefault(cfg.Batch, DefaultSweepBatch)
	cfg.RatePerMinute = orDefault(cfg.RatePerMinute, DefaultSweepRatePerMinute)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{cfg: cfg, limiters: align.NewLimiters(), log: logger}, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Run sweeps every interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	s.log.Info("status sweep started", slog.Duration("interval", s.cfg.Interval),
		slog.Duration("min_age", s.cfg.MinAge), slog.Int("batch", s.cfg.Batch))
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("status sweep failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepResult counts one round.
type SweepResult struct {
	Skipped   bool // another instance was sweeping
	Companies int
	Checked   int // entries read from Align
	Repaired  int // statuses written back
	Errors    int // companies whose batch stopped on an error
}

// Sweep runs one round over every connected company, unless another
// instance is running one (Skipped).
func (s *Sweeper) Sweep(ctx context.Context) (SweepResult, error) {
	release, err := sessionLock(ctx, s.cfg.Pool, sweepLockKey, false)
	if errors.Is(err, ErrBusy) {
		return SweepResult{Skipped: true}, nil
	}
	if err != nil {
		return SweepResult{}, err
	}
	defer release()
	cs, err := companies(ctx, s.cfg.Pool, "")
	if err != nil {
		return SweepResult{}, err
	}
	res := SweepResult{Companies: len(cs)}
	var mu sync.Mutex
	work := make(chan company)
	var wg sync.WaitGroup
	for range min(sweepWorkers, len(cs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				n, err := s.company(ctx, c.ID)
				mu.Lock()
				res.Checked, res.Repaired = res.Checked+n.checked, res.Repaired+n.repaired
				if err != nil {
					res.Errors++
				}
				mu.Unlock()
				if err != nil && ctx.Err() == nil {
					s.log.Warn("status sweep of a company stopped", slog.String("company_id", c.ID), slog.Any("error", err))
				}
			}
		}()
	}
	for _, c := range cs {
		if ctx.Err() != nil {
			break
		}
		work <- c
	}
	close(work)
	wg.Wait()
	if err := forgetSettledChecks(ctx, s.cfg.Pool); err != nil {
		return res, err
	}
	return res, ctx.Err()
}

type sweepCounts struct{ checked, repaired int }

// company reads one batch of the company's due entries from Align and
// repairs what Align is ahead by. An Align error ends the batch: the entries
// not read stay due for the next round.
func (s *Sweeper) company(ctx context.Context, companyID string) (sweepCounts, error) {
	var n sweepCounts
	inFlight, err := ledger.OpenEntities(ctx, s.cfg.Pool, companyID, "time_entry")
	if err != nil {
		return n, err
	}
	due, err := dueEntries(ctx, s.cfg.Pool, companyID, s.cfg.MinAge, s.cfg.Interval/2, inFlight, s.cfg.Batch)
	if err != nil || len(due) == 0 {
		return n, err
	}
	api, err := alignClient(ctx, s.cfg.Keys, companyID, align.Config{BaseURL: s.cfg.AlignBaseURL,
		HTTPClient: s.cfg.AlignHTTPClient, Timeout: 10 * time.Second, MaxAttempts: 2, MaxRetryAfter: 5 * time.Second,
		RatePerMinute: s.cfg.RatePerMinute, Limiters: s.limiters, UserAgent: "alignsync-status-sweep"})
	if err != nil {
		return n, err
	}
	var checks []statusCheck
	defer func() {
		if err := recordChecks(context.WithoutCancel(ctx), s.cfg.Pool, companyID, checks); err != nil {
			s.log.Warn("recording status checks failed", slog.String("company_id", companyID), slog.Any("error", err))
		}
	}()
	for _, e := range due {
		a, err := api.GetTimeEntry(ctx, e.alignID)
		if err != nil && !align.IsNotFound(err) {
			s.cfg.Metrics.sweepCheck(sweepError)
			return n, fmt.Errorf("reading Align's time entry %s: %w", e.alignID, err)
		}
		n.checked++
		if err != nil {
			s.cfg.Metrics.sweepCheck(sweepNotFound)
			checks = append(checks, statusCheck{entryID: e.ID, alignStatus: sweepNotFound})
			continue
		}
		result, err := s.apply(ctx, companyID, e, a)
		if err != nil {
			s.cfg.Metrics.sweepCheck(sweepError)
			return n, err
		}
		s.cfg.Metrics.sweepCheck(result)
		if result == sweepRepaired {
			n.repaired++
		}
		checks = append(checks, statusCheck{entryID: e.ID, alignStatus: string(a.Status)})
	}
	return n, nil
}

// Results of one entry's check: the values of
// alignsync_reconcile_sweep_checks_total's result label.
const (
	sweepInSync   = "in_sync"   // Align holds nothing Illumera lacks
	sweepRepaired = "repaired"  // Align's status written back
	sweepSkipped  = "skipped"   // Align was ahead, but the entry changed meanwhile
	sweepNotFound = "not_found" // Align has no such entry (any more)
	sweepError    = "error"     // Align or the database failed; retried next round
)

// apply writes Align's status back when Align is ahead (by the same rule as
// a reconciliation's repair).
func (s *Sweeper) apply(ctx context.Context, companyID string, e dueEntry, a align.TimeEntry) (string, error) {
	if !ahead(e.illumeraEntry, a) {
		return sweepInSync, nil
	}
	payload, _ := json.Marshal(a)
	var note string
	err := pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		var err error
		note, err = ingest.ApplyRepair(ctx, tx, ingest.Repair{
			CompanyID: companyID, EntryID: e.ID, AlignEntryID: a.ID, Status: string(a.Status),
			RejectionReason: a.RejectionReason, SeenUpdatedAt: e.UpdatedAt, AlignUpdatedAt: a.UpdatedAt, Payload: payload,
		})
		return err
	})
	switch {
	case errors.Is(err, ingest.ErrUnknownTimeEntry):
		return sweepSkipped, nil
	case err != nil:
		return "", fmt.Errorf("writing status %s of time entry %s back: %w", a.Status, e.ID, err)
	case note != "":
		return sweepSkipped, nil
	}
	s.log.Info("status repaired from Align: its webhook never arrived", slog.String("company_id", companyID),
		slog.String("time_entry_id", e.ID), slog.String("from", e.Status), slog.String("to", string(a.Status)))
	return sweepRepaired, nil
}
