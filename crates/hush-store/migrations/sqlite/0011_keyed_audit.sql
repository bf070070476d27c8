-- The audit chain becomes keyed: HMAC-SHA256 under a random chain key that
-- `hush_settings` holds only sealed with the master key (name `audit_key`,
-- written by the Rust conversion that follows, which also re-chains the
-- existing entries). A prune's anchor carries the key's tag, so deleting
-- the oldest entries by hand is detected too.
ALTER TABLE audit_anchor ADD COLUMN tag TEXT;
