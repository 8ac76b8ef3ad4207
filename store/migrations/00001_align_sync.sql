-- alignsync's own state. Every guarantee in ARCHITECTURE.md that can be a
-- constraint is one here, so a bug elsewhere fails loudly instead of doubling
-- or losing work.

-- +goose Up
CREATE TABLE align_sync.connections (
    company_id                uuid PRIMARY KEY,
    -- The id in the webhook URL: not the company id, so a URL leaks nothing
    -- about the tenant and can be rotated by reconnecting.
    connection_id             uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    status                    text NOT NULL
        CHECK (status IN ('connected', 'error', 'disconnected')),
    api_key_ciphertext        bytea,
    api_key_nonce             bytea,
    api_key_key_id            text,
    key_last4                 text CHECK (length(key_last4) <= 4),
    organization_id           uuid,
    webhook_id                uuid,
    webhook_secret_ciphertext bytea,
    webhook_secret_nonce      bytea,
    webhook_secret_key_id     text,
    -- WAL position at connect time: changes committed before it are history
    -- and are not backfilled.
    connected_lsn             pg_lsn,
    connected_at              timestamptz,
    last_synced_at            timestamptz,
    last_error                text,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CHECK (status = 'disconnected' OR api_key_ciphertext IS NOT NULL)
);

CREATE TABLE align_sync.entity_links (
    company_id  uuid NOT NULL,
    entity_type text NOT NULL
        CHECK (entity_type IN ('project', 'user', 'project_member', 'time_entry', 'wiki_page')),
    illumera_id text NOT NULL,
    align_id    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, entity_type, illumera_id)
);
CREATE INDEX entity_links_align_idx ON align_sync.entity_links (company_id, entity_type, align_id);

CREATE TABLE align_sync.outbox (
    id              bigserial PRIMARY KEY,
    company_id      uuid NOT NULL,
    entity_type     text NOT NULL
        CHECK (entity_type IN ('project', 'user', 'project_member', 'time_entry', 'wiki_page')),
    entity_id       text NOT NULL,
    op              text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}',
    idempotency_key text NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text,
    next_retry_at   timestamptz,
    commit_lsn      pg_lsn,
    change_index    integer,
    kafka_partition integer,
    kafka_offset    bigint,
    source_ts       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz
);
CREATE INDEX outbox_company_status_idx ON align_sync.outbox (company_id, status, id);
CREATE INDEX outbox_retry_idx ON align_sync.outbox (next_retry_at) WHERE status = 'failed';

CREATE TABLE align_sync.webhook_deliveries (
    id            bigserial PRIMARY KEY,
    delivery_id   text NOT NULL UNIQUE,
    company_id    uuid NOT NULL,
    connection_id uuid NOT NULL,
    event_name    text NOT NULL,
    status        text NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'processed', 'failed')),
    error         text,
    note          text,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz
);
CREATE INDEX webhook_deliveries_company_idx ON align_sync.webhook_deliveries (company_id, status, id);

CREATE TABLE align_sync.reconciliation_discrepancies (
    id             bigserial PRIMARY KEY,
    run_id         uuid NOT NULL,
    company_id     uuid NOT NULL,
    project_id     uuid,
    field          text NOT NULL CHECK (field IN ('approved_minutes', 'approved_cost_cents')),
    illumera_value bigint NOT NULL,
    align_value    bigint NOT NULL,
    detected_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_discrepancies_company_idx
    ON align_sync.reconciliation_discrepancies (company_id, detected_at DESC);

-- +goose Down
DROP TABLE align_sync.reconciliation_discrepancies;
DROP TABLE align_sync.webhook_deliveries;
DROP TABLE align_sync.outbox;
DROP TABLE align_sync.entity_links;
DROP TABLE align_sync.connections;
