-- Accounts belong to one organization: an email is unique within its
-- organization only, so creating a user in one organization reveals
-- nothing about the others. Each user moves to the organization of its
-- (only) membership; a user without one could never log in and goes,
-- with whatever it left elsewhere. The rebuild runs with foreign keys
-- off (the writer checks them before committing), SQLite's documented
-- way to change a table that others reference.
CREATE TABLE users_by_org (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (org_id, email)
);

INSERT INTO users_by_org (id, org_id, email, password_hash, created_at)
SELECT u.id,
       (SELECT m.org_id FROM memberships m WHERE m.user_id = u.id
        ORDER BY m.created_at, m.org_id LIMIT 1),
       u.email, u.password_hash, u.created_at
FROM users u
WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id);

DELETE FROM memberships
WHERE org_id <> COALESCE((SELECT b.org_id FROM users_by_org b WHERE b.id = memberships.user_id), '');
DELETE FROM project_members
WHERE NOT EXISTS (SELECT 1 FROM users_by_org b JOIN projects p ON p.org_id = b.org_id
                  WHERE b.id = project_members.user_id AND p.id = project_members.project_id);
DELETE FROM tokens
WHERE user_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM users_by_org b WHERE b.id = tokens.user_id AND b.org_id = tokens.org_id);

DROP TABLE users;
ALTER TABLE users_by_org RENAME TO users;
