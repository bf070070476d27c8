-- Key metadata of end-to-end-encrypted projects (the Hep.gg seed's
-- e2eeMeta) and the SHA-256 of their write key proof. Nothing here can
-- decrypt a value.
CREATE TABLE e2ee_meta (
    project_id       TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    iterations       INTEGER NOT NULL,
    salt_pass        TEXT NOT NULL,
    wrapped_dek_pass TEXT NOT NULL,
    salt_rec         TEXT NOT NULL,
    wrapped_dek_rec  TEXT NOT NULL,
    verifier         TEXT NOT NULL,
    key_proof_hash   TEXT NOT NULL,
    updated_at       INTEGER NOT NULL
);
