-- Entity links of an Align organization a company left: when an admin
-- reconnects to another organization and confirms starting over, connect
-- moves the company's links here in the connect transaction. They are kept
-- for audit and never read by the sink, whose queries on
-- align_sync.entity_links therefore cannot meet an Align id of the old
-- organization; entities are created in the new organization as they change.

-- +goose Up
CREATE TABLE align_sync.retired_entity_links (
    id                          bigserial PRIMARY KEY,
    company_id                  uuid NOT NULL,
    -- The organization the link pointed into (connections.organization_id
    -- when it was retired; NULL if that was unknown).
    organization_id             uuid,
    entity_type                 text NOT NULL
        CHECK (entity_type IN ('project', 'user', 'project_member', 'time_entry', 'wiki_page')),
    illumera_id                 text NOT NULL,
    align_id                    text NOT NULL,
    linked_at                   timestamptz NOT NULL,
    link_updated_at             timestamptz NOT NULL,
    retired_at                  timestamptz NOT NULL DEFAULT now(),
    -- The organization the company started over in.
    replaced_by_organization_id uuid NOT NULL
);
CREATE INDEX retired_entity_links_company_idx
    ON align_sync.retired_entity_links (company_id, retired_at DESC);

-- +goose Down
DROP TABLE align_sync.retired_entity_links;
