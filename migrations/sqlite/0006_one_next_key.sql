-- At most one next signing key per algorithm. Two nodes starting together (or a node's
-- maintenance task beside `tessera keys rotate`) could each see no next key and
-- generate one; the database now refuses the second, and the loser keeps the winner's.
--
-- Extra next keys left by such a race before this migration never signed anything:
-- all but the oldest of each algorithm are retired with nothing left to verify, so the
-- next key maintenance removes them.
UPDATE signing_key_t
   SET state = 'retired', retired_at = created_at, remove_after = created_at
 WHERE state = 'next'
   AND EXISTS (
       SELECT 1 FROM signing_key_t o
        WHERE o.alg = signing_key_t.alg
          AND o.state = 'next'
          AND (o.created_at < signing_key_t.created_at
               OR (o.created_at = signing_key_t.created_at AND o.kid < signing_key_t.kid)));

CREATE UNIQUE INDEX signing_key_one_next ON signing_key_t (alg) WHERE state = 'next';
