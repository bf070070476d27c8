-- hush schema v1 (SQLite). Kept column-for-column in step with
-- ../postgres/0001_init.sql: the store's queries are shared by both.
-- Times are unix milliseconds; flags are 0/1 integers.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE projects (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    slug            TEXT NOT NULL,
    name            TEXT NOT NULL,
    encryption_mode TEXT NOT NULL CHECK (encryption_mode IN ('server', 'client')),
    -- server mode: the project's data key, sealed by the master key
    wrapped_dek     BLOB,
    master_key_id   TEXT,
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    UNIQUE (org_id, slug),
    CHECK ((encryption_mode = 'server') = (wrapped_dek IS NOT NULL))
);

CREATE TRIGGER projects_mode_is_immutable
BEFORE UPDATE OF encryption_mode ON projects
WHEN NEW.encryption_mode <> OLD.encryption_mode
BEGIN
    SELECT RAISE(ABORT, 'a project''s encryption mode is fixed at creation');
END;

CREATE TABLE targets (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (project_id, slug)
);

CREATE TABLE environments (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
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
    current_version INTEGER NOT NULL DEFAULT 0,
    blob            BLOB,
    updated_at      INTEGER NOT NULL
);

-- The current state of entry scopes, materialized for fast reads.
-- Clustered by (scope_id, name) so reading a scope is one range scan.
CREATE TABLE secrets (
    id          TEXT NOT NULL UNIQUE,
    scope_id    TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       BLOB NOT NULL,
    note        TEXT,
    tags        TEXT NOT NULL DEFAULT '',
    is_active   INTEGER NOT NULL DEFAULT 1,
    is_reserved INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (scope_id, name)
) WITHOUT ROWID;

-- One row per write to a scope.
CREATE TABLE versions (
    scope_id      TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    action        TEXT NOT NULL,
    changed_keys  TEXT NOT NULL,
    restored_from INTEGER,
    blob          BLOB,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    PRIMARY KEY (scope_id, version)
);

-- The full state of an entry scope right after each version.
CREATE TABLE version_entries (
    scope_id    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    secret_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       BLOB NOT NULL,
    note        TEXT,
    tags        TEXT NOT NULL,
    is_active   INTEGER NOT NULL,
    is_reserved INTEGER NOT NULL,
    expires_at  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (scope_id, version, name),
    FOREIGN KEY (scope_id, version) REFERENCES versions(scope_id, version) ON DELETE CASCADE
);

CREATE INDEX version_entries_by_secret ON version_entries (secret_id, version);
