-- Private signing keys are encrypted at rest: the column holds an envelope sealed with
-- the key-encryption key (keys/kek.rs), no longer PEM. Rows still in PEM are sealed by
-- the first node that starts with a key-encryption key (keys/at_rest.rs): the
-- migration cannot, as the database never sees that key.
ALTER TABLE signing_key_t RENAME COLUMN private_pem TO private_key;

-- At most one active signing key per algorithm. Nodes starting together on an empty
-- database each generated an active key; the database now refuses all but the first,
-- and the losers adopt it.
--
-- Extra active keys left by such a race may have signed tokens that are still valid:
-- all but the first activated of each algorithm retire now and stay published for a
-- day, longer than any token lifetime the configuration is expected to hold (the
-- migration cannot read the configured lifetimes).
UPDATE signing_key_t
   SET state = 'retired',
       retired_at = CAST(strftime('%s', 'now') AS INTEGER),
       remove_after = CAST(strftime('%s', 'now') AS INTEGER) + 86400
 WHERE state = 'active'
   AND EXISTS (
       SELECT 1 FROM signing_key_t o
        WHERE o.alg = signing_key_t.alg
          AND o.state = 'active'
          AND (COALESCE(o.activated_at, o.created_at)
                 < COALESCE(signing_key_t.activated_at, signing_key_t.created_at)
               OR (COALESCE(o.activated_at, o.created_at)
                     = COALESCE(signing_key_t.activated_at, signing_key_t.created_at)
                   AND o.kid < signing_key_t.kid)));

CREATE UNIQUE INDEX signing_key_one_active ON signing_key_t (alg) WHERE state = 'active';
