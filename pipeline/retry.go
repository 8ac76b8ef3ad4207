package pipeline

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// RetryFailed puts every failed operation of a company back to pending, due
// now, and returns how many it reset. Attempts are kept so the history stays
// visible; the sink's ticker picks the rows up on its next pass.
func RetryFailed(ctx context.Context, pool *pgxpool.Pool, companyID string) (int64, error) {
	tag, err := pool.Exec(ctx, `
		UPDATE align_sync.outbox
		   SET status = 'pending', next_retry_at = now(), updated_at = now()
		 WHERE company_id = $1 AND status = 'failed'`, companyID)
	if err != nil {
		return 0, fmt.Errorf("resetting failed operations of company %s: %w", companyID, err)
	}
	return tag.RowsAffected(), nil
}
