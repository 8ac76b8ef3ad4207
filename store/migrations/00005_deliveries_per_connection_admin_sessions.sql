-- Webhook delivery ids are unique per connection, not across every company:
-- Align's ids are only promised unique within one subscription, and a global
-- key let one tenant's delivery reusing another's id be dropped as a
-- duplicate.
--
-- Admin page sessions live on the server: the cookie holds a random id whose
-- hash is the key here, so signing out or expiry ends a session for good. A
-- sign-in link's token is single-use: its id (jti) is recorded when it is
-- exchanged, until the token could not be used anyway.

-- +goose Up
ALTER TABLE align_sync.webhook_deliveries DROP CONSTRAINT webhook_deliveries_delivery_id_key;
ALTER TABLE align_sync.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_connection_delivery_key UNIQUE (connection_id, delivery_id);

CREATE TABLE align_sync.admin_sessions (
    -- SHA-256 of the cookie's value; the value itself is never stored.
    id_hash    bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    subject    text NOT NULL,
    company_id uuid,
    roles      text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expires_idx ON align_sync.admin_sessions (expires_at);

CREATE TABLE align_sync.admin_sign_in_tokens (
    token_id   text PRIMARY KEY CHECK (length(token_id) BETWEEN 1 AND 200),
    used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX admin_sign_in_tokens_expires_idx ON align_sync.admin_sign_in_tokens (expires_at);

-- +goose Down
DROP TABLE align_sync.admin_sign_in_tokens;
DROP TABLE align_sync.admin_sessions;
ALTER TABLE align_sync.webhook_deliveries DROP CONSTRAINT webhook_deliveries_connection_delivery_key;
ALTER TABLE align_sync.webhook_deliveries ADD CONSTRAINT webhook_deliveries_delivery_id_key UNIQUE (delivery_id);
