-- Tokens can be disabled and enabled again (Hep.gg's dashboard); revoking
-- stays final. Tokens disabled before this migration were revoked.
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
UPDATE tokens SET revoked_at = created_at WHERE disabled <> 0;
-- Per-organization plan limits: the plan's name and its numbers, NULL for
-- unlimited (a self-hosted server's default).
ALTER TABLE organizations ADD COLUMN plan TEXT;
ALTER TABLE organizations ADD COLUMN max_projects INTEGER;
ALTER TABLE organizations ADD COLUMN max_environments INTEGER;
