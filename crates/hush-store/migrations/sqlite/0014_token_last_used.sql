-- When each token was last used (to the minute: the server records a use
-- at most once a minute per token), so stale tokens can be found and
-- revoked.
ALTER TABLE tokens ADD COLUMN last_used_at BIGINT;
