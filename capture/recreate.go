package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"
)

// ErrSlotUsable is RecreateSlot's refusal to replace a slot that still holds
// every change capture has not read: dropping it would lose them.
var ErrSlotUsable = errors.New("the replication slot still holds every change capture has not read; nothing to recreate")

// Recreated is what RecreateSlot did.
type Recreated struct {
	Slot     string
	Lost     *SlotLostError // why the old slot was replaced; nil when there was none (a first start)
	Position pglogrepl.LSN  // where the new slot, and capture, start
}

// recreateLockWait bounds how long RecreateSlot waits for the capture lock:
// a capture that keeps it is streaming, so its slot is not lost.
const recreateLockWait = 30 * time.Second

// RecreateSlot replaces a lost slot (see SlotLostError) with a new one and
// records its position as confirmed, so that capture starts again from now.
// It holds the capture lock meanwhile, so no instance streams half-way. The
// changes of the gap are in neither slot: alignsync resync sends them
// (Recreated.Lost.ResyncSince says from when). A slot that is not lost is
// left alone with ErrSlotUsable; a missing one with no sign of an earlier
// slot is simply created.
func RecreateSlot(ctx context.Context, cfg Config, logger *slog.Logger) (Recreated, error) {
	c, err := New(cfg, logger, nil)
	if err != nil {
		return Recreated{}, err
	}
	defer c.positions.close()
	lockCtx, cancel := context.WithTimeout(ctx, recreateLockWait)
	lock, err := c.acquireLock(lockCtx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return Recreated{}, ctx.Err()
		}
		return Recreated{}, fmt.Errorf("taking the capture lock of slot %s: another capture instance kept it for %s; "+
			"stop every capture instance first (one that streams has not lost its slot)", c.cfg.Slot, recreateLockWait)
	}
	defer lock.release()
	pool, err := c.openPool(ctx)
	if err != nil {
		return Recreated{}, err
	}
	defer pool.Close()
	if c.recorded, err = c.positions.load(ctx); err != nil {
		return Recreated{}, err
	}
	if err := publish(ctx, pool, c.cfg, c.logger); err != nil {
		return Recreated{}, err
	}
	s, err := readSlot(ctx, pool, c.cfg.Slot)
	if err != nil {
		return Recreated{}, err
	}
	r := Recreated{Slot: c.cfg.Slot}
	if err := c.checkLoss(ctx, s); err != nil && !errors.As(err, &r.Lost) {
		return r, err
	}
	if r.Lost == nil && s.exists {
		return r, ErrSlotUsable
	}
	if s.exists {
		if _, err := pool.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, c.cfg.Slot); err != nil {
			return r, fmt.Errorf("dropping replication slot %s: %w", c.cfg.Slot, err)
		}
		c.logger.Warn("replication slot dropped", slog.String("slot", c.cfg.Slot), slog.String("reason", r.Lost.Reason))
	}
	if r.Position, err = createSlot(ctx, pool, c.cfg.Slot, c.logger); err != nil {
		return r, err
	}
	if err := c.positions.save(ctx, position{LSN: r.Position, At: time.Now().UTC()}); err != nil {
		return r, fmt.Errorf("slot %s was recreated, but %w: run --recreate-slot again", c.cfg.Slot, err)
	}
	return r, nil
}
