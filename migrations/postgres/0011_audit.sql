-- The audit trail (issue 13). One row per event: sign-ins, changes made through the
-- API, the CLI or an import, token and key events. Rows are written in the transaction
-- of the change they record and never updated; only the retention purge deletes them.
-- No foreign keys: an entry outlives the user, host or client it names.
CREATE TABLE audit_t (
    audit_id         TEXT PRIMARY KEY,
    at               BIGINT NOT NULL,
    host_id          TEXT NULL,
    actor_id         TEXT NULL,
    actor_name       TEXT NULL,
    via              TEXT NOT NULL,
    action           TEXT NOT NULL,
    target_kind      TEXT NULL,
    target_id        TEXT NULL,
    before_state     TEXT NULL,
    after_state      TEXT NULL,
    detail           TEXT NULL,
    request_id       TEXT NULL,
    client_address   TEXT NULL
);
-- Newest first within a host, and the purge by time.
CREATE INDEX audit_host_at_idx ON audit_t (host_id, at, audit_id);
CREATE INDEX audit_at_idx ON audit_t (at);

-- A membership can be deactivated (issue 13: activate/deactivate) without being
-- removed: the user keeps their assignments but cannot sign in to the host or refresh
-- its tokens until it is activated again. Locking (user_t.locked) is the account's.
ALTER TABLE user_host_t ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
