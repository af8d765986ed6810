-- Decisions of the policy endpoint come from a snapshot per host held by every node
-- (issue 14). Every write to a host's endpoints, permissions or assignments bumps the
-- host's version in the same transaction; nodes read all versions once a second and
-- reload a host's snapshot when its version moved.
CREATE TABLE policy_version_t (
    host_id          TEXT PRIMARY KEY REFERENCES host_t (host_id) ON DELETE CASCADE,
    version          BIGINT NOT NULL
);
