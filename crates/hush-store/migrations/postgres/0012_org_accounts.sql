-- Accounts belong to one organization: an email is unique within its
-- organization only, so creating a user in one organization reveals
-- nothing about the others. Each user moves to the organization of its
-- (only) membership; a user without one could never log in and goes,
-- with whatever it left elsewhere.
ALTER TABLE users ADD COLUMN org_id TEXT REFERENCES organizations(id) ON DELETE CASCADE;

UPDATE users u SET org_id = (
    SELECT m.org_id FROM memberships m WHERE m.user_id = u.id
    ORDER BY m.created_at, m.org_id LIMIT 1);

DELETE FROM users WHERE org_id IS NULL;
DELETE FROM memberships m USING users u WHERE u.id = m.user_id AND m.org_id <> u.org_id;
DELETE FROM project_members pm
WHERE NOT EXISTS (SELECT 1 FROM users u JOIN projects p ON p.org_id = u.org_id
                  WHERE u.id = pm.user_id AND p.id = pm.project_id);
DELETE FROM tokens t
WHERE t.user_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND u.org_id = t.org_id);

ALTER TABLE users ALTER COLUMN org_id SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users ADD CONSTRAINT users_org_email_key UNIQUE (org_id, email);
