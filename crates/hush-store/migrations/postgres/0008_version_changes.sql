-- Versions store what changed (see DESIGN.md, "Data model"): one row per
-- name a version set or removed (`removed` = 1 is a tombstone). The state
-- of a scope at version v is, per name, its newest row at or before v,
-- unless that row is a tombstone. A write costs what it changes, not the
-- size of its scope. The data of version_entries (a full copy of the
-- scope per version) is converted by the migration code, then dropped.
CREATE TABLE version_changes (
    scope_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    secret_id   TEXT NOT NULL,
    removed     BIGINT NOT NULL DEFAULT 0,
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
    PRIMARY KEY (scope_id, name, version),
    FOREIGN KEY (scope_id, version) REFERENCES versions(scope_id, version) ON DELETE CASCADE
);

CREATE INDEX version_changes_by_version ON version_changes (scope_id, version);
CREATE INDEX version_changes_by_secret ON version_changes (secret_id, version);

-- One row the writer updates to prove that commits work (`/ready`).
CREATE TABLE hush_heartbeat (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);
INSERT INTO hush_heartbeat (id, at) VALUES (1, 0);
