-- API tokens (issue 14): personal tokens act for their owner, system tokens are a
-- service identity of their host with the roles of api_token_role_t. Only the
-- SHA-256 of a secret is kept. A token goes with its host, and a personal token with
-- its owner's membership (deleting the user or removing them from the host).
CREATE TABLE api_token_t (
    token_id         TEXT PRIMARY KEY,
    host_id          TEXT NOT NULL REFERENCES host_t (host_id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('personal', 'system')),
    user_id          TEXT NULL,
    name             TEXT NOT NULL,
    scope            TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    -- Who made it (a user id, or none from the CLI); text, not a reference: the token
    -- of a service outlives the admin who made it.
    created_by       TEXT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    last_used_at     BIGINT NULL,
    revoked_at       BIGINT NULL,
    CHECK ((kind = 'personal') = (user_id IS NOT NULL)),
    FOREIGN KEY (host_id, user_id) REFERENCES user_host_t (host_id, user_id) ON DELETE CASCADE
);
CREATE INDEX api_token_host_idx ON api_token_t (host_id, created_at);
CREATE INDEX api_token_user_idx ON api_token_t (user_id);

-- The roles of a system token, by id: a role renamed is renamed in the next JWT, a
-- role deleted is gone from it.
CREATE TABLE api_token_role_t (
    token_id         TEXT NOT NULL REFERENCES api_token_t (token_id) ON DELETE CASCADE,
    host_id          TEXT NOT NULL,
    role_id          TEXT NOT NULL,
    PRIMARY KEY (token_id, role_id),
    FOREIGN KEY (host_id, role_id) REFERENCES role_t (host_id, role_id) ON DELETE CASCADE
);
CREATE INDEX api_token_role_role_idx ON api_token_role_t (host_id, role_id);
