-- Self-healing (issue 14): deliveries a sweep repaired, the status sweep's
-- bookkeeping, connection health checks, and discrepancies that stay one open
-- row per company, project and field.

-- +goose Up
-- A delivery the status sweep recorded for a status it read from Align,
-- because no webhook brought it.
ALTER TABLE align_sync.webhook_deliveries
    ADD COLUMN repaired boolean NOT NULL DEFAULT false;
-- Deliveries left received (a crash between recording and processing) are
-- found by Retry Failed.
CREATE INDEX webhook_deliveries_received_idx
    ON align_sync.webhook_deliveries (company_id, received_at) WHERE status = 'received';

-- When the status sweep last read a time entry from Align: it checks the
-- entries it checked longest ago first, so bounded batches cover them all.
CREATE TABLE align_sync.status_checks (
    company_id    uuid NOT NULL,
    time_entry_id uuid NOT NULL,
    checked_at    timestamptz NOT NULL,
    align_status  text,
    PRIMARY KEY (company_id, time_entry_id)
);

-- When the last health check of a connection started: each instance claims
-- only connections not checked within the interval, so several serve
-- instances check each connection once.
ALTER TABLE align_sync.connections
    ADD COLUMN health_checked_at timestamptz;

-- A discrepancy is open until a run finds its company, project and field
-- clean; later runs update the open row instead of adding one. Resolved rows
-- are kept as history.
ALTER TABLE align_sync.reconciliation_discrepancies
    ADD COLUMN last_detected_at timestamptz NOT NULL DEFAULT now(),
    -- The run that last found it; NULL while that is still run_id.
    ADD COLUMN last_run_id      uuid,
    ADD COLUMN resolved_at      timestamptz,
    ADD COLUMN resolved_run_id  uuid;
UPDATE align_sync.reconciliation_discrepancies SET last_detected_at = detected_at;
-- Before this migration every run added a row. The newest of each company,
-- project and field stays open; each older one is closed when the next one
-- was detected.
UPDATE align_sync.reconciliation_discrepancies d
   SET resolved_at = n.next_detected_at
  FROM (SELECT id, lead(detected_at) OVER (
                   PARTITION BY company_id, project_id, field ORDER BY detected_at, id) AS next_detected_at
          FROM align_sync.reconciliation_discrepancies) n
 WHERE d.id = n.id AND n.next_detected_at IS NOT NULL;
CREATE UNIQUE INDEX reconciliation_discrepancies_open_idx
    ON align_sync.reconciliation_discrepancies
       (company_id, coalesce(project_id, '00000000-0000-0000-0000-000000000000'::uuid), field)
    WHERE resolved_at IS NULL;

-- +goose Down
DROP INDEX align_sync.reconciliation_discrepancies_open_idx;
ALTER TABLE align_sync.reconciliation_discrepancies
    DROP COLUMN resolved_run_id,
    DROP COLUMN resolved_at,
    DROP COLUMN last_run_id,
    DROP COLUMN last_detected_at;
ALTER TABLE align_sync.connections DROP COLUMN health_checked_at;
DROP TABLE align_sync.status_checks;
DROP INDEX align_sync.webhook_deliveries_received_idx;
ALTER TABLE align_sync.webhook_deliveries DROP COLUMN repaired;
