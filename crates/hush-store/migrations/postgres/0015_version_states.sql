-- Version states, for Vault's KV v2 API (README, "Using Vault clients with
-- hush"). A version may be soft-deleted (`deleted_at`; undelete clears it)
-- or destroyed (its values erased for good, `destroyed` = 1). While a
-- scope's current version is either, the scope reads as empty: `secrets`
-- holds nothing for it and `head_hidden` = 1, which also makes its
-- revision differ so cached views reload. The next write starts from an
-- empty state. `kv_meta` keeps a KV secret's metadata settings as JSON.
ALTER TABLE versions ADD COLUMN deleted_at BIGINT;
ALTER TABLE versions ADD COLUMN destroyed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE scopes ADD COLUMN head_hidden BIGINT NOT NULL DEFAULT 0;
ALTER TABLE scopes ADD COLUMN kv_meta TEXT;
