-- The outbox becomes each company's durable queue: intake records operations
-- without waiting for Align, and executors on any sink instance take
-- companies with ready work in turn, one executor per company at a time.

-- +goose Up
-- blocked_by: the earlier unfinished operation this one waits behind (the
-- same entity, or a dependency such as user → member → time entry); cleared
-- when that operation is done. started_at: when the current or last run
-- began, so processing windows can be read back.
ALTER TABLE align_sync.outbox
    ADD COLUMN blocked_by bigint,
    ADD COLUMN started_at timestamptz,
    ADD COLUMN touches    text[] NOT NULL DEFAULT '{}';

-- Only unfinished operations are ever scanned by the executors; done rows
-- accumulate and must not slow them down.
CREATE INDEX outbox_open_idx ON align_sync.outbox (company_id, id) WHERE status <> 'done';
CREATE INDEX outbox_blocked_idx ON align_sync.outbox (company_id, blocked_by) WHERE blocked_by IS NOT NULL;
DROP INDEX align_sync.outbox_company_status_idx;
CREATE INDEX outbox_company_status_idx ON align_sync.outbox (company_id, status, id DESC);
-- Every operation is updated twice or three times: vacuum the table after a
-- few percent of changes, not the default fifth, so the entries of left
-- behind versions do not pile up in the indexes the executors scan.
ALTER TABLE align_sync.outbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- One row per company that ever had work: when it is next ready, who holds
-- its lease. The lease is fenced by lease_epoch: every ledger write of an
-- executor names the epoch it claimed, so an instance that lost the lease
-- (paused past its expiry, then resumed) can no longer write.
CREATE TABLE align_sync.lanes (
    company_id       uuid PRIMARY KEY,
    -- When the company next has an operation to run; NULL: nothing known.
    ready_at         timestamptz,
    -- Bumped by every enqueue and Retry Failed, so an executor releasing the
    -- lease can tell that work arrived after it last looked.
    work_version     bigint NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_epoch      bigint NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    -- Round robin: the company that had a turn longest ago goes first.
    last_turn_at     timestamptz,
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
CREATE INDEX lanes_ready_idx ON align_sync.lanes (last_turn_at NULLS FIRST, ready_at) WHERE ready_at IS NOT NULL;
CREATE INDEX lanes_owner_idx ON align_sync.lanes (lease_owner) WHERE lease_owner IS NOT NULL;

UPDATE align_sync.outbox
   SET touches = ARRAY(SELECT jsonb_array_elements_text(CASE jsonb_typeof(payload->'touches')
                                                        WHEN 'array' THEN payload->'touches' ELSE '[]' END))
 WHERE status <> 'done';

-- Companies with unfinished work recorded before this migration get a lane.
INSERT INTO align_sync.lanes (company_id, ready_at)
SELECT DISTINCT company_id, now() FROM align_sync.outbox WHERE status <> 'done'
ON CONFLICT DO NOTHING;

-- +goose Down
ALTER TABLE align_sync.outbox RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
DROP TABLE align_sync.lanes;
DROP INDEX align_sync.outbox_blocked_idx;
DROP INDEX align_sync.outbox_open_idx;
DROP INDEX align_sync.outbox_company_status_idx;
CREATE INDEX outbox_company_status_idx ON align_sync.outbox (company_id, status, id);
ALTER TABLE align_sync.outbox DROP COLUMN touches, DROP COLUMN started_at, DROP COLUMN blocked_by;
