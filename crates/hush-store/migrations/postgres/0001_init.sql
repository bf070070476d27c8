-- hush schema v1 (PostgreSQL). Kept column-for-column in step with
-- ../sqlite/0001_init.sql: the store's queries are shared by both.
-- Times are unix milliseconds; flags are 0/1 integers.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE projects (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    slug            TEXT NOT NULL,
    name            TEXT NOT NULL,
    encryption_mode TEXT NOT NULL CHECK (encryption_mode IN ('server', 'client')),
    -- server mode: the project's data key, sealed by the master key
    wrapped_dek     BYTEA,
    master_key_id   TEXT,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    UNIQUE (org_id, slug),
    CHECK ((encryption_mode = 'server') = (wrapped_dek IS NOT NULL))
);

CREATE FUNCTION hush_projects_mode_is_immutable() RETURNS trigger AS $$
BEGIN
    IF NEW.encryption_mode <> OLD.encryption_mode THEN
        RAISE EXCEPTION 'a project''s encryption mode is fixed at creation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER projects_mode_is_immutable
BEFORE UPDATE OF encryption_mode ON projects
FOR EACH ROW EXECUTE FUNCTION hush_projects_mode_is_immutable();

CREATE TABLE targets (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (project_id, slug)
);

CREATE TABLE environments (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (project_id, slug)
);

-- A place secrets live: project level (no target, no environment), target
-- level, or environment level (with or without a target). The id is the
-- scope key "project/target/environment" (ids, empty when absent), which is
-- also what value ciphertexts are bound to.
CREATE TABLE scopes (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    target_id       TEXT REFERENCES targets(id) ON DELETE CASCADE,
    environment_id  TEXT REFERENCES environments(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('entries', 'blob')),
    current_version BIGINT NOT NULL DEFAULT 0,
    blob            BYTEA,
    updated_at      BIGINT NOT NULL
);

-- The current state of entry scopes, materialized for fast reads.
CREATE TABLE secrets (
    id          TEXT PRIMARY KEY,
    scope_id    TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       BYTEA NOT NULL,
    note        TEXT,
    tags        TEXT NOT NULL DEFAULT '',
    is_active   BIGINT NOT NULL DEFAULT 1,
    is_reserved BIGINT NOT NULL DEFAULT 0,
    expires_at  BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    UNIQUE (scope_id, name)
);

-- One row per write to a scope.
CREATE TABLE versions (
    scope_id      TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    version       BIGINT NOT NULL,
    action        TEXT NOT NULL,
    changed_keys  TEXT NOT NULL,
    restored_from BIGINT,
    blob          BYTEA,
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    PRIMARY KEY (scope_id, version)
);

-- The full state of an entry scope right after each version.
CREATE TABLE version_entries (
    scope_id    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    secret_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       BYTEA NOT NULL,
    note        TEXT,
    tags        TEXT NOT NULL,
    is_active   BIGINT NOT NULL,
    is_reserved BIGINT NOT NULL,
    expires_at  BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (scope_id, version, name),
    FOREIGN KEY (scope_id, version) REFERENCES versions(scope_id, version) ON DELETE CASCADE
);

CREATE INDEX version_entries_by_secret ON version_entries (secret_id, version);
