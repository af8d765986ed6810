-- The security profile model of the seed (003): employees and customers per host,
-- roles, groups, positions (with inheritance along the reporting line), attributes and
-- API endpoint permissions. Tenant tables lead with host_id. Dates are ISO-8601 text
-- (YYYY-MM-DD), which compares correctly as text on both backends; an assignment is in
-- effect on day D when start_date <= D and (end_date IS NULL or end_date >= D).

CREATE TABLE employee_t (
    host_id          TEXT NOT NULL,
    employee_id      TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    title            TEXT NULL,
    manager_id       TEXT NULL,
    hire_date        TEXT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (host_id, employee_id),
    UNIQUE (host_id, user_id),
    FOREIGN KEY (host_id, user_id) REFERENCES user_host_t (host_id, user_id) ON DELETE CASCADE,
    -- No cascade: a manager's reports must be given another manager first.
    FOREIGN KEY (host_id, manager_id) REFERENCES employee_t (host_id, employee_id)
);
CREATE INDEX employee_manager_idx ON employee_t (host_id, manager_id);

CREATE TABLE customer_t (
    host_id          TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    referral_id      TEXT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (host_id, customer_id),
    UNIQUE (host_id, user_id),
    FOREIGN KEY (host_id, user_id) REFERENCES user_host_t (host_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (host_id, referral_id) REFERENCES customer_t (host_id, customer_id)
);

CREATE TABLE role_t (
    host_id          TEXT NOT NULL REFERENCES host_t (host_id) ON DELETE CASCADE,
    role_id          TEXT NOT NULL,
    role_name        TEXT NOT NULL,
    description      TEXT NULL,
    PRIMARY KEY (host_id, role_id),
    UNIQUE (host_id, role_name)
);

-- source: 'local' for assignments made in Tessera, 'directory' for those a directory
-- sign-in maintains (replaced at each sign-in; local ones are kept).
CREATE TABLE role_user_t (
    host_id          TEXT NOT NULL,
    role_id          TEXT NOT NULL,
    user_id          TEXT NOT NULL REFERENCES user_t (user_id) ON DELETE CASCADE,
    start_date       TEXT NOT NULL,
    end_date         TEXT NULL,
    source           TEXT NOT NULL DEFAULT 'local',
    PRIMARY KEY (host_id, role_id, user_id, start_date),
    FOREIGN KEY (host_id, role_id) REFERENCES role_t (host_id, role_id) ON DELETE CASCADE
);
CREATE INDEX role_user_user_idx ON role_user_t (host_id, user_id);

CREATE TABLE group_t (
    host_id          TEXT NOT NULL REFERENCES host_t (host_id) ON DELETE CASCADE,
    group_id         TEXT NOT NULL,
    group_name       TEXT NOT NULL,
    description      TEXT NULL,
    PRIMARY KEY (host_id, group_id),
    UNIQUE (host_id, group_name)
);

CREATE TABLE group_user_t (
    host_id          TEXT NOT NULL,
    group_id         TEXT NOT NULL,
    user_id          TEXT NOT NULL REFERENCES user_t (user_id) ON DELETE CASCADE,
    start_date       TEXT NOT NULL,
    end_date         TEXT NULL,
    source           TEXT NOT NULL DEFAULT 'local',
    PRIMARY KEY (host_id, group_id, user_id, start_date),
    FOREIGN KEY (host_id, group_id) REFERENCES group_t (host_id, group_id) ON DELETE CASCADE
);
CREATE INDEX group_user_user_idx ON group_user_t (host_id, user_id);

CREATE TABLE position_t (
    host_id              TEXT NOT NULL REFERENCES host_t (host_id) ON DELETE CASCADE,
    position_id          TEXT NOT NULL,
    position_name        TEXT NOT NULL,
    description          TEXT NULL,
    inherit_to_ancestor  BIGINT NOT NULL DEFAULT 0,
    inherit_to_sibling   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (host_id, position_id),
    UNIQUE (host_id, position_name)
);

-- position_type: P held in its own right, D inherited from a direct report (the
-- report's position has inherit_to_ancestor), S inherited from a teammate under the
-- same manager (inherit_to_sibling). inherited_from names the employee a D or S row
-- comes from ('' for P rows), so each derived row mirrors exactly one own assignment
-- and its dates. Derived rows are recomputed by Tessera, never written by hand.
CREATE TABLE employee_position_t (
    host_id          TEXT NOT NULL,
    employee_id      TEXT NOT NULL,
    position_id      TEXT NOT NULL,
    position_type    TEXT NOT NULL,
    inherited_from   TEXT NOT NULL DEFAULT '',
    start_date       TEXT NOT NULL,
    end_date         TEXT NULL,
    PRIMARY KEY (host_id, employee_id, position_id, position_type, inherited_from),
    FOREIGN KEY (host_id, employee_id) REFERENCES employee_t (host_id, employee_id) ON DELETE CASCADE,
    FOREIGN KEY (host_id, position_id) REFERENCES position_t (host_id, position_id) ON DELETE CASCADE
);

CREATE TABLE attribute_t (
    host_id          TEXT NOT NULL REFERENCES host_t (host_id) ON DELETE CASCADE,
    attribute_id     TEXT NOT NULL,
    attribute_name   TEXT NOT NULL,
    attribute_type   TEXT NOT NULL DEFAULT 'string'
        CHECK (attribute_type IN ('string', 'integer', 'boolean', 'date', 'float', 'list')),
    description      TEXT NULL,
    PRIMARY KEY (host_id, attribute_id),
    UNIQUE (host_id, attribute_name)
);

CREATE TABLE attribute_user_t (
    host_id          TEXT NOT NULL,
    attribute_id     TEXT NOT NULL,
    user_id          TEXT NOT NULL REFERENCES user_t (user_id) ON DELETE CASCADE,
    attribute_value  TEXT NOT NULL,
    start_date       TEXT NOT NULL,
    end_date         TEXT NULL,
    PRIMARY KEY (host_id, attribute_id, user_id, start_date),
    FOREIGN KEY (host_id, attribute_id) REFERENCES attribute_t (host_id, attribute_id) ON DELETE CASCADE
);
CREATE INDEX attribute_user_user_idx ON attribute_user_t (host_id, user_id);

CREATE TABLE api_endpoint_t (
    host_id          TEXT NOT NULL REFERENCES host_t (host_id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    http_method      TEXT NOT NULL,
    description      TEXT NULL,
    PRIMARY KEY (host_id, endpoint_id),
    UNIQUE (host_id, endpoint, http_method)
);

CREATE TABLE role_permission_t (
    host_id          TEXT NOT NULL,
    role_id          TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    PRIMARY KEY (host_id, role_id, endpoint_id),
    FOREIGN KEY (host_id, role_id) REFERENCES role_t (host_id, role_id) ON DELETE CASCADE,
    FOREIGN KEY (host_id, endpoint_id) REFERENCES api_endpoint_t (host_id, endpoint_id) ON DELETE CASCADE
);

CREATE TABLE group_permission_t (
    host_id          TEXT NOT NULL,
    group_id         TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    PRIMARY KEY (host_id, group_id, endpoint_id),
    FOREIGN KEY (host_id, group_id) REFERENCES group_t (host_id, group_id) ON DELETE CASCADE,
    FOREIGN KEY (host_id, endpoint_id) REFERENCES api_endpoint_t (host_id, endpoint_id) ON DELETE CASCADE
);

CREATE TABLE user_permission_t (
    host_id          TEXT NOT NULL,
    user_id          TEXT NOT NULL REFERENCES user_t (user_id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL,
    start_date       TEXT NOT NULL,
    end_date         TEXT NULL,
    PRIMARY KEY (host_id, user_id, endpoint_id),
    FOREIGN KEY (host_id, endpoint_id) REFERENCES api_endpoint_t (host_id, endpoint_id) ON DELETE CASCADE
);

CREATE TABLE attribute_permission_t (
    host_id          TEXT NOT NULL,
    attribute_id     TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    attribute_value  TEXT NOT NULL,
    PRIMARY KEY (host_id, attribute_id, endpoint_id),
    FOREIGN KEY (host_id, attribute_id) REFERENCES attribute_t (host_id, attribute_id) ON DELETE CASCADE,
    FOREIGN KEY (host_id, endpoint_id) REFERENCES api_endpoint_t (host_id, endpoint_id) ON DELETE CASCADE
);
