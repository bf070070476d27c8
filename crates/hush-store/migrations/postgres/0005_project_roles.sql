-- Roles per project: within a project they replace the user's organization
-- role (owners and admins of the organization keep theirs everywhere).
CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);

CREATE INDEX project_members_by_user ON project_members (user_id);
