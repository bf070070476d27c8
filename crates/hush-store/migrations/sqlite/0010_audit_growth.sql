-- Audit growth (see README, "Audit log"): an entry may stand for several
-- identical requests (`count`, e.g. a token's pulls of one environment
-- over an interval, when operators choose so), and old entries can be
-- pruned. After a prune, `audit_anchor` holds the last pruned entry's
-- sequence number and hash: verification starts from there, so the chain
-- still proves that nothing after it was changed.
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;

CREATE TABLE audit_anchor (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    pruned    INTEGER NOT NULL,
    pruned_at INTEGER NOT NULL
);
