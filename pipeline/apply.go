package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/illumera/alignsync/pipeline/ledger"
	"github.com/illumera/alignsync/pipeline/translate"
)

// Applied is what Apply did with one message.
type Applied struct {
	CompanyID string
	Table     string
	Skipped   bool // no connection, history from before it, or a skipped table
	Outcomes  []Outcome
}

// Outcome is where one of the message's operations stands after Apply:
// done (now), duplicate (done before), waiting (behind an unfinished
// operation), failed (parked until Retry Failed) or retry_later.
type Outcome struct {
	Kind     translate.Kind
	EntityID string
	Result   string
}

// Apply runs one message through the sink's own code, synchronously and
// outside any consumer group: intake into the ledger, then the company's
// queue under its lease until nothing more can run now. Replaying a range is
// therefore as idempotent as a redelivery. The sink must not be running (Run)
// in this process.
func (s *Sink) Apply(ctx context.Context, m kafka.Message) (Applied, error) {
	c, err := decode(m.Value)
	if err != nil {
		return Applied{}, err
	}
	a := Applied{Table: c.Table}
	batch, err := s.intakeBatch(ctx, []kafka.Message{m}, func(_ context.Context, _ kafka.Message, err error) error { return err })
	if err != nil {
		return a, fmt.Errorf("applying change %s: %w", c.ID(), err)
	}
	a.CompanyID = batch.companies[0]
	keys := batch.keys[0]
	a.Skipped = a.CompanyID == "" || (len(keys) == 0 && len(translate.Translate(c)) > 0)
	if len(keys) == 0 {
		return a, nil
	}
	before, err := s.ledger.States(ctx, keys)
	if err != nil {
		return a, err
	}
	if err := s.drain(ctx, a.CompanyID); err != nil {
		return a, fmt.Errorf("applying change %s: %w", c.ID(), err)
	}
	after, err := s.ledger.States(ctx, keys)
	if err != nil {
		return a, err
	}
	ops := batch.ops[0]
	for i, key := range keys {
		a.Outcomes = append(a.Outcomes, Outcome{Kind: ops[i].Kind, EntityID: ops[i].EntityID, Result: result(before[key], after[key])})
	}
	return a, nil
}

func result(before, after ledger.State) string {
	switch {
	case before.Status == ledger.Done:
		return "duplicate"
	case after.Status == ledger.Done:
		return "done"
	case after.Blocked:
		return "waiting"
	case after.Status == ledger.Failed && !after.RetryDue:
		return "failed"
	}
	return "retry_later"
}

// drain leases the company (waiting while another executor holds it) and
// runs its queue until nothing more can run now.
func (s *Sink) drain(ctx context.Context, companyID string) error {
	var ls ledger.Lease
	for {
		got, err := s.ledger.Claim(ctx, s.cfg.Instance, s.cfg.LeaseTTL, 1, []string{companyID})
		if err != nil {
			return err
		}
		if len(got) == 1 {
			ls = got[0]
			break
		}
		if !sleep(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
	l := &lane{lease: ls, since: time.Now(), links: linkCache{}}
	l.validTil.Store(time.Now().Add(s.cfg.LeaseTTL * 2 / 3).UnixNano())
	var res turnResult
	var err error
	for {
		res, err = s.runTurn(ctx, l)
		if err != nil || res.idle || (!res.more && res.notBefore.IsZero()) {
			break
		}
		if wait := time.Until(res.notBefore); wait > 0 && !sleep(ctx, wait) {
			err = ctx.Err()
			break
		}
		if err = s.renewOne(ctx, l); err != nil {
			break
		}
	}
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, s.ledger.Release(rctx, l.lease, res.notBefore, res.idle))
}

// renewOne extends a lease held outside the scheduler.
func (s *Sink) renewOne(ctx context.Context, l *lane) error {
	sent := time.Now()
	lost, err := s.ledger.Renew(ctx, s.cfg.Instance, s.cfg.LeaseTTL, []ledger.Lease{l.lease})
	if err != nil {
		return err
	}
	if lost[l.lease.CompanyID] {
		return ledger.ErrLeaseLost
	}
	l.validTil.Store(sent.Add(s.cfg.LeaseTTL * 2 / 3).UnixNano())
	return nil
}
