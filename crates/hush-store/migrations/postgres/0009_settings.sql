-- Server-wide settings. `master_key_id` records the fingerprint of the
-- master key that seals this database's keys, so a server or replica
-- started with another key refuses to start instead of failing every
-- request.
CREATE TABLE hush_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
