-- An organization's policy for viewers: by default they see names and
-- metadata only; an organization may let them decrypt too (run the app
-- with the secrets) without giving them write access.
ALTER TABLE organizations ADD COLUMN viewers_decrypt BIGINT NOT NULL DEFAULT 0;
