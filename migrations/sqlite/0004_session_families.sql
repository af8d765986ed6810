-- A token family remembers the SSO session it was issued in, so that logging out ends
-- that session's grants. Grants with offline_access outlive the session (OpenID
-- Connect Core §11) and are marked so.
ALTER TABLE token_family_t ADD COLUMN sid TEXT NULL;
ALTER TABLE token_family_t ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
CREATE INDEX token_family_sid_idx ON token_family_t (sid);
