-- The audit log: append-only, hash-chained. Each entry's hash covers its
-- fields and the previous entry's hash, so editing or deleting an entry
-- breaks the chain at that point. `audit_head` holds the chain's tip; a
-- writer locks it for the length of its transaction, so entries from
-- several replicas still form one chain.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    org_id      TEXT,
    project_id  TEXT,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    result      TEXT NOT NULL,
    status      INTEGER NOT NULL,
    ip          TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE INDEX audit_by_org ON audit_log (org_id, seq);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
