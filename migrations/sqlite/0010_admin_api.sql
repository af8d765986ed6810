-- The management API (issue 13). A system admin administers every host; the flag is
-- set by the CLI (`tessera user set-system-admin`) or an import document, never by
-- the API itself in this version. Host-level rights come from roles, not from here.
ALTER TABLE user_t ADD COLUMN system_admin INTEGER NOT NULL DEFAULT 0;

