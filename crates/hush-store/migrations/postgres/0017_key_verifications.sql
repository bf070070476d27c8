-- DotEnv client-managed projects: how a client proves it holds the
-- project's key before the server stores its ciphertext (README, "The
-- DotEnv API"). The salt and iterations are public; only the SHA-256 of
-- the PBKDF2 proof is kept, and nothing here can decrypt a blob.
CREATE TABLE key_verifications (
    project_id     TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    salt           TEXT NOT NULL,
    iterations     BIGINT NOT NULL,
    key_proof_hash TEXT NOT NULL,
    updated_at     BIGINT NOT NULL
);
