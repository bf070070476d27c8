-- API and pull tokens. Only a SHA-256 of each token is stored; the token
-- itself is shown once at creation.
CREATE TABLE tokens (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    project_id     TEXT REFERENCES projects(id) ON DELETE CASCADE,
    environment_id TEXT REFERENCES environments(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('api', 'pull')),
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    prefix         TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    expires_at     INTEGER,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    created_by     TEXT NOT NULL
);

CREATE INDEX tokens_by_org ON tokens (org_id);
