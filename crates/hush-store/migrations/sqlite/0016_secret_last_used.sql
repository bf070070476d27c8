-- When a secret's value was last read through an API that reports it
-- (InsForge's `lastUsedAt` for organization secrets). Kept on the
-- current state only: versions record values, not reads.
ALTER TABLE secrets ADD COLUMN last_used_at INTEGER;
