package capture

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// HeartbeatPrefix is the prefix of capture's pg_logical_emit_message
// heartbeats.
const HeartbeatPrefix = "alignsync.heartbeat"

// heartbeat writes a non-transactional logical message every interval. It
// reaches capture through the slot even when no published table changes, and
// once everything before it is acknowledged its position is confirmed, so
// the slot stops holding WAL that other tables' writes produce.
func (c *Capture) heartbeat(ctx context.Context, pool *pgxpool.Pool) {
	t := time.NewTicker(c.cfg.HeartbeatInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := pool.Exec(ctx, `SELECT pg_logical_emit_message(false, $1, $2)`, HeartbeatPrefix, time.Now().UTC().Format(time.RFC3339Nano))
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			c.logger.Warn("heartbeat failing", slog.Any("error", err))
		case err == nil && failing:
			failing = false
			c.logger.Info("heartbeat recovered")
		}
		if err == nil {
			c.metrics.Heartbeats.Inc()
		}
	}
}

// pollSlot sets the slot lag gauges from PostgreSQL's own positions.
func (c *Capture) pollSlot(ctx context.Context, pool *pgxpool.Pool) {
	t := time.NewTicker(c.cfg.SlotPollInterval)
	defer t.Stop()
	for {
		var retained, unconfirmed int64
		err := pool.QueryRow(ctx, `SELECT coalesce((pg_current_wal_lsn() - restart_lsn)::bigint, 0),
			coalesce((pg_current_wal_lsn() - confirmed_flush_lsn)::bigint, 0)
			FROM pg_replication_slots WHERE slot_name = $1`, c.cfg.Slot).Scan(&retained, &unconfirmed)
		if err == nil {
			c.metrics.RetainedWAL.Set(float64(retained))
			c.metrics.Unconfirmed.Set(float64(unconfirmed))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
