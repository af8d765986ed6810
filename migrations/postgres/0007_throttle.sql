-- Brute-force throttling (docs/brute-force.md). Nodes are stateless, so the counters of
-- failed sign-ins live here, one row per (scope, key): scope 'account' (the normalised
-- login), 'address' (the client address) or 'device' (a known device's cookie hash).
-- The wait is derived from `failures` and `last_failure_at` by the configured policy,
-- so a failed sign-in costs one UPSERT and a policy change applies at once. A row is
-- forgotten at `expires_at` (the policy's reset time after the last failure).
CREATE TABLE throttle_t (
    scope            TEXT NOT NULL,
    throttle_key     TEXT NOT NULL,
    failures         BIGINT NOT NULL,
    first_failure_at BIGINT NOT NULL,
    last_failure_at  BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    PRIMARY KEY (scope, throttle_key)
);
CREATE INDEX throttle_expires_idx ON throttle_t (expires_at);

-- Devices a user signed in from (OWASP "device cookies"): the SHA-256 of a random
-- long-lived cookie. Their holder is exempt from the account lockout of that user.
CREATE TABLE known_device_t (
    device_hash      TEXT NOT NULL,
    user_id          TEXT NOT NULL REFERENCES user_t (user_id) ON DELETE CASCADE,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    PRIMARY KEY (device_hash, user_id)
);
CREATE INDEX known_device_expires_idx ON known_device_t (expires_at);

-- A host's own account policy; a NULL column keeps the configured default.
CREATE TABLE host_throttle_t (
    host_id          TEXT PRIMARY KEY REFERENCES host_t (host_id) ON DELETE CASCADE,
    free_attempts    BIGINT NULL,
    base_delay       BIGINT NULL,
    max_delay        BIGINT NULL,
    lockout_after    BIGINT NULL,
    lockout_duration BIGINT NULL,
    reset_after      BIGINT NULL
);
