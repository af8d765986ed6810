-- First-party clients: the operator consents for their users, so the consent page is
-- skipped (except for offline_access and prompt=consent).
ALTER TABLE client_t ADD COLUMN skip_consent INTEGER NOT NULL DEFAULT 0;
