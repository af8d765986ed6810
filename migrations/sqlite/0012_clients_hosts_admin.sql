-- Clients and hosts through the management API (issue 13).
-- The one method a client must use at the token endpoint (RFC 7591 §2
-- `token_endpoint_auth_method`); NULL for clients registered before: a confidential one
-- may then use either secret method.
ALTER TABLE client_t ADD COLUMN auth_method TEXT NULL;
-- A host's feature flags: a JSON object of booleans, shown at /api/v1/me.
ALTER TABLE host_t ADD COLUMN feature_flags TEXT NOT NULL DEFAULT '{}';
-- A host's directory settings as JSON (the shape of a `[[directories]]` entry without
-- `host`); the service password only by reference (an environment variable or a file),
-- never in clear. NULL: no directory kept in the database.
ALTER TABLE host_t ADD COLUMN directory TEXT NULL;
