package pipeline

import (
	"context"
	"fmt"
	"github.com/illumera/alignsync/connect/credentials"
	"time"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
)

// turnResult says what a company's turn left to do.
type turnResult struct {
	more      bool      // it ran a full turn: there may be more runnable now
	notBefore time.Time // the company must wait until then (rate budget, Retry-After)
	idle      bool      // it is not connected: forget it until new work arrives
}

// runTurn runs up to TurnOps of a leased company's operations, in recorded
// order, each only once the earlier operations it needs are done.
func (s *Sink) runTurn(ctx context.Context, l *lane) (turnResult, error) {
	w, err := s.ledger.Window(ctx, &l.lease, s.cfg.TurnOps)
	switch {
	case err != nil:
		return turnResult{}, err
	case w.Connection != credentials.StatusConnected && w.Connection != credentials.StatusError:
		return turnResult{idle: true}, nil // disconnected: its operations wait for a reconnect
	case len(w.Runnable) == 0:
		return turnResult{}, nil
	case w.Connection == credentials.StatusError:
		return turnResult{}, s.parkAll(ctx, l, w.Runnable)
	}
	if l.client == nil {
		if err := s.loadClient(ctx, l); err != nil {
			return turnResult{}, err
		}
	}
	blocked := map[string]int64{} // entity key → the unfinished operation holding it
	next := 0
	for _, row := range w.Runnable {
		for ; next < len(w.Blockers) && w.Blockers[next].ID < row.ID; next++ {
			holdKeys(blocked, w.Blockers[next].Touches, w.Blockers[next].ID)
		}
		if blocker := blockerOf(blocked, row); blocker != 0 {
			if err := s.ledger.Block(ctx, l.lease, row.ID, blocker); err != nil {
				return turnResult{}, err
			}
			s.metrics.operation(row, "waiting")
			holdKeys(blocked, row.Op.Touches, row.ID)
			continue
		}
		if !l.held() {
			return turnResult{}, ledger.ErrLeaseLost
		}
		if d := l.client.RateDelay(); d > 0 {
			return turnResult{notBefore: time.Now().Add(d)}, nil
		}
		res, err := s.execute(ctx, l, row)
		if err != nil {
			return turnResult{}, err
		}
		if !res.done {
			holdKeys(blocked, row.Op.Touches, row.ID)
		}
		if res.stop || !res.notBefore.IsZero() {
			return turnResult{notBefore: res.notBefore}, nil
		}
	}
	return turnResult{more: len(w.Runnable) == s.cfg.TurnOps}, nil
}

func holdKeys(blocked map[string]int64, keys []string, id int64) {
	for _, k := range keys {
		if _, ok := blocked[k]; !ok {
			blocked[k] = id
		}
	}
}

// blockerOf returns the earlier unfinished operation row must wait for, or 0:
// one holding a key row touches or depends on. A held use key blocks only
// the operations that depend on it (a member removal waits for every earlier
// entry that may add the member back), not other uses: entries of one
// engagement do not wait for one another.
func blockerOf(blocked map[string]int64, row ledger.Row) int64 {
	for _, k := range row.Op.Touches {
		if id, ok := blocked[k]; ok && id != row.ID && !translate.IsUse(k) {
			return id
		}
	}
	for _, k := range row.Op.DependsOn {
		if id, ok := blocked[k]; ok && id != row.ID {
			return id
		}
	}
	return 0
}

// parkAll parks a company's runnable operations while its connection is in
// error, without spending attempts: they wait for a reconnect and Retry
// Failed, as the admin guide says.
func (s *Sink) parkAll(ctx context.Context, l *lane, rows []ledger.Row) error {
	for _, row := range rows {
		if err := s.ledger.Park(ctx, l.lease, row.ID, ledger.Run{Counted: true}, connectionErrorMessage, nil, false); err != nil {
			return err
		}
		s.metrics.operation(row, "parked")
	}
	return nil
}

const connectionErrorMessage = "Align connection is in error: reconnect with a valid key, then Retry Failed"

// loadClient gives the lane the company's Align client for the rest of the
// lease: the one built before, when its key was read in the last few
// seconds, else one for the key read now.
func (s *Sink) loadClient(ctx context.Context, l *lane) error {
	company := l.lease.CompanyID
	if c, key, ok := s.clients.get(company); ok {
		l.client, l.key = c, key
		return nil
	}
	key, err := s.conns.APIKey(ctx, company)
	if err != nil {
		return fmt.Errorf("loading Align key of company %s: %w", company, err)
	}
	c, err := s.clients.build(company, key, s.client)
	if err != nil {
		return err
	}
	l.client, l.key = c, key
	return nil
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
