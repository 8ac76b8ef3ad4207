-- The reference Illumera schema: the tables alignsync reads, as the Illumera
-- application owns them. Tests and the demo use it; a real deployment already
-- has these tables and never runs this file.

-- +goose Up
CREATE TABLE IF NOT EXISTS companies (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS talent (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text NOT NULL UNIQUE,
    full_name  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS projects (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id  uuid NOT NULL REFERENCES companies (id),
    title       text NOT NULL,
    description text,
    status      text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'open', 'active', 'on_hold', 'completed')),
    start_date  date,
    end_date    date,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS projects_company_idx ON projects (company_id);

CREATE TABLE IF NOT EXISTS project_roles (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id     uuid NOT NULL REFERENCES projects (id),
    company_id     uuid NOT NULL REFERENCES companies (id),
    title          text NOT NULL,
    hours_per_week integer NOT NULL CHECK (hours_per_week > 0),
    duration_weeks integer NOT NULL CHECK (duration_weeks > 0),
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'filled')),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS project_roles_project_idx ON project_roles (project_id);

CREATE TABLE IF NOT EXISTS engagements (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id uuid NOT NULL REFERENCES companies (id),
    project_id uuid NOT NULL REFERENCES projects (id),
    talent_id  uuid NOT NULL REFERENCES talent (id),
    role_id    uuid REFERENCES project_roles (id),
    rate_cents integer NOT NULL CHECK (rate_cents >= 0),
    status     text NOT NULL DEFAULT 'invited'
        CHECK (status IN ('invited', 'accepted', 'declined', 'active', 'ended')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS engagements_project_idx ON engagements (project_id);

CREATE TABLE IF NOT EXISTS time_entries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id       uuid NOT NULL REFERENCES companies (id),
    engagement_id    uuid NOT NULL REFERENCES engagements (id),
    project_id       uuid NOT NULL REFERENCES projects (id),
    talent_id        uuid NOT NULL REFERENCES talent (id),
    work_date        date NOT NULL,
    minutes          integer NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
    description      text,
    status           text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'locked', 'invoiced')),
    rejection_reason text,
    adjustment_of    uuid REFERENCES time_entries (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS time_entries_project_idx ON time_entries (project_id, work_date);

-- Transitions ("becomes active", "becomes accepted") need old values, which
-- pgoutput sends only under REPLICA IDENTITY FULL.
ALTER TABLE companies REPLICA IDENTITY FULL;
ALTER TABLE talent REPLICA IDENTITY FULL;
ALTER TABLE projects REPLICA IDENTITY FULL;
ALTER TABLE project_roles REPLICA IDENTITY FULL;
ALTER TABLE engagements REPLICA IDENTITY FULL;
ALTER TABLE time_entries REPLICA IDENTITY FULL;

-- +goose Down
DROP TABLE IF EXISTS time_entries;
DROP TABLE IF EXISTS engagements;
DROP TABLE IF EXISTS project_roles;
DROP TABLE IF EXISTS projects;
DROP TABLE IF EXISTS talent;
DROP TABLE IF EXISTS companies;
