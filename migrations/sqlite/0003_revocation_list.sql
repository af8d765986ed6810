-- Nodes keep the revoked access tokens in memory and refresh the list from here every
-- second: revoked_at says when, so each refresh reads only what is new.
ALTER TABLE access_token_t ADD COLUMN revoked_at INTEGER NULL;
CREATE INDEX access_token_revoked_idx ON access_token_t (revoked_at);
