-- Core schema: hosts, users, clients, grants, tokens, sessions, keys.
-- Portable conventions (see ARCHITECTURE.md): text ids, integer unix times in seconds,
-- integer 0/1 flags. Tenant tables lead with host_id. The PostgreSQL twin of this file
-- has the same tables and columns.

CREATE TABLE host_t (
    host_id          TEXT PRIMARY KEY,
    domain           TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    user_type_model  TEXT NOT NULL DEFAULT 'EC',
    default_role     TEXT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE user_t (
    user_id          TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    username         TEXT NULL,
    password         TEXT NULL,
    language         TEXT NOT NULL DEFAULT 'en',
    first_name       TEXT NULL,
    last_name        TEXT NULL,
    user_type        TEXT NULL,
    verified         BIGINT NOT NULL DEFAULT 0,
    locked           BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
-- Emails and usernames are unique whatever their case.
CREATE UNIQUE INDEX user_email_uk ON user_t (lower(email));
CREATE UNIQUE INDEX user_username_uk ON user_t (lower(username));

CREATE TABLE user_host_t (
    host_id          TEXT NOT NULL REFERENCES host_t (host_id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES user_t (user_id) ON DELETE CASCADE,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (host_id, user_id)
);
CREATE INDEX user_host_user_idx ON user_host_t (user_id);

CREATE TABLE client_t (
    client_id                  TEXT PRIMARY KEY,
    host_id                    TEXT NULL REFERENCES host_t (host_id) ON DELETE CASCADE,
    name                       TEXT NOT NULL,
    client_type                TEXT NOT NULL,
    secret_hash                TEXT NULL,
    redirect_uris              TEXT NOT NULL,
    post_logout_redirect_uris  TEXT NOT NULL,
    grant_types                TEXT NOT NULL,
    scopes                     TEXT NOT NULL,
    require_pkce               BIGINT NOT NULL DEFAULT 1,
    profile_in_id_token        BIGINT NOT NULL DEFAULT 0,
    created_at                 BIGINT NOT NULL
);

-- Consent remembered per user and client: the union of the scopes granted.
CREATE TABLE consent_t (
    user_id          TEXT NOT NULL REFERENCES user_t (user_id) ON DELETE CASCADE,
    client_id        TEXT NOT NULL REFERENCES client_t (client_id) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- A grant family: everything issued from one authorization (codes, refresh tokens,
-- access tokens). Revoking it revokes them all.
CREATE TABLE token_family_t (
    family_id        TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    user_id          TEXT NULL,
    revoked          BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);

CREATE TABLE authorization_code_t (
    code_hash             TEXT PRIMARY KEY,
    family_id             TEXT NOT NULL,
    client_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    host_id               TEXT NULL,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT NULL,
    code_challenge        TEXT NULL,
    auth_time             BIGINT NOT NULL,
    sid                   TEXT NOT NULL,
    amr                   TEXT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT NULL
);

CREATE TABLE refresh_token_t (
    token_hash       TEXT PRIMARY KEY,
    family_id        TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    host_id          TEXT NULL,
    scope            TEXT NOT NULL,
    auth_time        BIGINT NOT NULL,
    sid              TEXT NOT NULL,
    amr              TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    rotated_at       BIGINT NULL
);
CREATE INDEX refresh_token_family_idx ON refresh_token_t (family_id);

-- Access tokens are JWTs; a row exists only for those issued from a family (so that
-- revoking the family reaches them) and for those revoked one by one.
CREATE TABLE access_token_t (
    jti              TEXT PRIMARY KEY,
    family_id        TEXT NULL,
    revoked          BIGINT NOT NULL DEFAULT 0,
    expires_at       BIGINT NOT NULL
);

CREATE TABLE session_t (
    session_id       TEXT PRIMARY KEY,
    data             TEXT NOT NULL,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX session_expires_idx ON session_t (expires_at);

CREATE TABLE signing_key_t (
    kid              TEXT PRIMARY KEY,
    alg              TEXT NOT NULL,
    state            TEXT NOT NULL,
    private_pem      TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    activated_at     BIGINT NULL,
    retired_at       BIGINT NULL,
    remove_after     BIGINT NULL
);
