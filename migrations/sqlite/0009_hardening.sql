-- /readyz proves that the database takes a write: each node upserts its own row.
CREATE TABLE readiness_t (
    node_id          TEXT PRIMARY KEY,
    checked_at       INTEGER NOT NULL
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
