-- vault-env (shared/seeds/vault-env.txt): which projects speak it and their
-- request-signing key (NULL until set-key;
-- sealed with the master key), their devices, and the signatures seen in
-- the last minutes (replay protection shared by every replica).
CREATE TABLE vaultenv_keys (
    project_id  TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    sealed_key  BLOB,
    created_at  INTEGER NOT NULL
);

CREATE TABLE vaultenv_devices (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    device_name  TEXT NOT NULL,
    device_hash  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'revoked')),
    created_at   INTEGER NOT NULL,
    approved_at  INTEGER,
    last_seen_at INTEGER,
    UNIQUE (project_id, device_hash)
);

CREATE TABLE vaultenv_signatures (
    project_id TEXT NOT NULL,
    digest     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, digest)
);

CREATE INDEX vaultenv_signatures_by_expiry ON vaultenv_signatures (expires_at);
