package capture

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockSQL takes the session-level advisory lock that makes one capture per
// slot the active one. PostgreSQL releases it when the holder's connection
// ends, however the process died.
const lockSQL = `SELECT pg_try_advisory_lock(hashtext('alignsync.capture'), hashtext($1))`

// leaderLock is a held capture lock: the connection that holds it.
type leaderLock struct {
	conn *pgx.Conn
}

// acquireLock returns once this process holds the lock, waiting as a
// standby while another process does. It fails only when ctx ends.
func (c *Capture) acquireLock(ctx context.Context) (*leaderLock, error) {
	b := newBackoff(c.cfg.ReconnectMin, c.cfg.ReconnectMax)
	var conn *pgx.Conn
	for {
		held, err := c.tryLock(ctx, &conn)
		if held {
			c.logger.Info("capture lock acquired", slog.String("slot", c.cfg.Slot))
			return &leaderLock{conn: conn}, nil
		}
		wait := c.cfg.LockPollInterval
		if err != nil {
			c.setState(stateStarting, err)
			wait = b.delay()
		} else {
			b.reset()
			c.setState(stateStandby, nil)
		}
		if !sleepCtx(ctx, wait) {
			if conn != nil {
				conn.Close(context.Background())
			}
			return nil, ctx.Err()
		}
	}
}

// tryLock tries the lock once on *conn, connecting first when *conn is nil
// and dropping the connection after an error.
func (c *Capture) tryLock(ctx context.Context, conn **pgx.Conn) (bool, error) {
	if *conn == nil {
		cfg, err := pgx.ParseConfig(c.cfg.DatabaseURL)
		if err != nil {
			return false, err
		}
		cfg.RuntimeParams["application_name"] = "alignsync-capture-lock"
		if *conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
			return false, fmt.Errorf("connecting for the capture lock: %w", err)
		}
	}
	var held bool
	if err := (*conn).QueryRow(ctx, lockSQL, c.cfg.Slot).Scan(&held); err != nil {
		(*conn).Close(context.Background())
		*conn = nil
		return false, fmt.Errorf("trying the capture lock: %w", err)
	}
	return held, nil
}

// watch cancels the active capture when the lock's connection is lost, since
// another process may then take the lock.
func (l *leaderLock) watch(ctx context.Context, lost context.CancelFunc, logger *slog.Logger) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := l.conn.Exec(pingCtx, "SELECT 1")
		cancel()
		if err != nil && ctx.Err() == nil {
			logger.Error("capture lock connection lost, stopping", slog.Any("error", err))
			lost()
			return
		}
	}
}

func (l *leaderLock) release() { l.conn.Close(context.Background()) }

// sleepCtx waits d; false means ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
