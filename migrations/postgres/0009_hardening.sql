-- /readyz proves that the database takes a write: each node upserts its own row.
CREATE TABLE readiness_t (
    node_id          TEXT PRIMARY KEY,
    checked_at       BIGINT NOT NULL
);

-- A rotated refresh token keeps its successor sealed with itself (the successor XOR a
-- pad derived from the rotated token, which is stored only as a hash): a client's retry
-- within the grace window gets the same successor back instead of a second live branch
-- of the family, and a copy of the database cannot unseal it.
ALTER TABLE refresh_token_t ADD COLUMN successor_sealed TEXT;

-- Session rows used to hold the whole tower-sessions record, its id (the cookie's
-- value) included, so a copy of the database handed out live sessions. Rows now hold
-- the data alone; the old ones are dropped, which signs everyone out once.
DELETE FROM session_t;

-- The seed's contact fields of a user (seed 003's user_t), released by the address and
-- phone scopes and, for gender and birthday, the profile scope (OpenID Connect Core
-- §5.4). Empty until an import or the admin API fills them.
ALTER TABLE user_t ADD COLUMN phone_number TEXT NULL;
ALTER TABLE user_t ADD COLUMN phone_verified BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_t ADD COLUMN gender TEXT NULL;
ALTER TABLE user_t ADD COLUMN birthday TEXT NULL;
ALTER TABLE user_t ADD COLUMN country TEXT NULL;
ALTER TABLE user_t ADD COLUMN province TEXT NULL;
ALTER TABLE user_t ADD COLUMN city TEXT NULL;
ALTER TABLE user_t ADD COLUMN address TEXT NULL;
ALTER TABLE user_t ADD COLUMN post_code TEXT NULL;
