package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Nightly runs a reconciliation every day at at ("HH:MM", UTC) until ctx
// ends; it returns an error only for a bad at. Every serve instance may run
// it: the instances queue on the reconciliation lock and the first records the
// slot, so each slot runs once.
func (r *Reconciler) Nightly(ctx context.Context, at string, opts Options) error {
	s, err := ParseSchedule(at)
	if err != nil {
		return err
	}
	if opts.Window == (Window{}) {
		opts.Window = DefaultWindow
	}
	r.logger.Info("nightly reconciliation scheduled", slog.String("at_utc", s.String()),
		slog.String("window", opts.Window.String()), slog.Bool("repair", opts.Repair))
	for {
		slot := s.Next(r.cfg.Now())
		t := time.NewTimer(slot.Sub(r.cfg.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		r.runSlot(ctx, slot, opts)
	}
}

// runSlot runs one nightly slot and logs how it ended: the run's only
// output.
func (r *Reconciler) runSlot(ctx context.Context, slot time.Time, opts Options) {
	rep, err := r.run(ctx, opts, &slot)
	log := r.logger.With(slog.Time("slot", slot))
	switch {
	case errors.Is(err, errSlotTaken):
		log.Info("nightly reconciliation already ran on another instance")
	case ctx.Err() != nil:
		log.Warn("nightly reconciliation interrupted by shutdown")
	case err != nil && rep.RunID == "":
		log.Error("nightly reconciliation failed", slog.Any("error", err))
	default:
		t := rep.Totals
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "nightly reconciliation finished", slog.String("run_id", rep.RunID),
			slog.Int("companies", t.Companies), slog.Int("projects", t.Projects),
			slog.Int("entries_compared", t.EntriesCompared), slog.Int("discrepancies", t.Discrepancies),
			slog.Int("link_problems", t.LinkProblems), slog.Int("repairs", t.Repairs), slog.Int("errors", t.Errors))
	}
}
