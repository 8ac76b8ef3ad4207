-- One row per reconciliation run: what it compared and how it ended, and the
-- guard that makes the nightly run happen once per slot however many serve
-- instances schedule it.

-- +goose Up
CREATE TABLE align_sync.reconciliation_runs (
    run_id           uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('manual', 'nightly')),
    -- The nightly slot (e.g. 2026-11-26 02:00 UTC); unique, so a second
    -- instance scheduled for the same slot finds it taken and skips.
    scheduled_for    timestamptz,
    company_id       uuid,
    window_spec      text NOT NULL,
    start_date       date,
    end_date         date,
    repair           boolean NOT NULL DEFAULT false,
    status           text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'incomplete', 'failed')),
    companies        integer NOT NULL DEFAULT 0,
    projects         integer NOT NULL DEFAULT 0,
    entries_compared integer NOT NULL DEFAULT 0,
    discrepancies    integer NOT NULL DEFAULT 0,
    link_problems    integer NOT NULL DEFAULT 0,
    repairs          integer NOT NULL DEFAULT 0,
    error            text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CHECK ((kind = 'nightly') = (scheduled_for IS NOT NULL))
);
CREATE UNIQUE INDEX reconciliation_runs_slot_idx
    ON align_sync.reconciliation_runs (scheduled_for) WHERE kind = 'nightly';
CREATE INDEX reconciliation_runs_started_idx
    ON align_sync.reconciliation_runs (started_at DESC);

-- +goose Down
DROP TABLE align_sync.reconciliation_runs;
