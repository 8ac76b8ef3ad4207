package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/illumera/alignsync/pipeline/ledger"
)

// listenLoop hears of the work every instance records (ledger.WorkChannel)
// on a connection of its own: without it, a company this instance holds
// idle while another instance records its work would wait out the hold.
// When the connection fails, the holds still end on time; it reconnects.
func (sc *scheduler) listenLoop(ctx context.Context) {
	wait := sc.s.cfg.RetryInterval
	for {
		listened, err := sc.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			wait = sc.s.cfg.RetryInterval
		}
		sc.s.logger.Warn("listening for work recorded by other instances failed; retrying (meanwhile a company held idle here waits out its hold)",
			slog.Duration("retry_in", wait), slog.Any("error", err))
		if !sleep(ctx, wait) {
			return
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// listen nudges the lanes named by each notification until the connection
// fails or ctx ends; listened reports whether it got as far as listening.
func (sc *scheduler) listen(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, sc.s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ledger.WorkChannel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listening on %s: %w", ledger.WorkChannel, err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("waiting for notifications on %s: %w", ledger.WorkChannel, err)
		}
		if origin, companies := ledger.ParseWork(n.Payload); origin != sc.s.cfg.Instance {
			sc.nudge(companies) // this instance's own intake has woken its lanes already
		}
	}
}
