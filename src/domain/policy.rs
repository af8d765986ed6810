//! Authorization decisions over the seed's permission tables (seed 003; DESIGN.md
//! "Authorization decisions"): may this subject call this API endpoint with this
//! method? A [`PolicySnapshot`] holds one host's endpoints and permissions (and its
//! users' assignments, for subjects named by id) in memory; [`PolicySnapshot::decide`]
//! answers from it alone, so a decision costs no I/O.
//!
//! The rules, one grant being enough:
//! - a **role permission** grants the endpoint to subjects holding the role;
//! - a **group permission** to subjects in the group;
//! - a **user permission** to that user, between its start and end dates;
//! - an **attribute permission** `(attribute, value)` to subjects whose attribute has
//!   exactly that value.
//!
//! A subject is either the facts of a Tessera access token (its `sub`, `role`, `grp`
//! and `att` claims, already the assignments in effect when it was issued) or a user of
//! the host looked up in the snapshot with the assignments in effect on the day of the
//! decision — the same rules the security profile uses, the host's default role
//! standing in when the user holds no role, so both answers agree.
//!
//! The resource is a request path, matched against the endpoints' path templates
//! (`/orders/{id}` matches `/orders/42`); a template given as is matches itself. When
//! several templates match, the most specific wins: at the first segment where they
//! differ, a literal beats a parameter (as HTTP routers choose).

use std::collections::{HashMap, HashSet};

/// A span of days an assignment counts, as ISO dates (`YYYY-MM-DD`, which compare as
/// text); no end means open-ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dates {
    pub start: String,
    pub end: Option<String>,
}

impl Dates {
    /// Whether the span covers `day`.
    #[must_use]
    pub fn cover(&self, day: &str) -> bool {
        self.start.as_str() <= day && self.end.as_deref().is_none_or(|end| day <= end)
    }
}

/// An API endpoint of the host (`api_endpoint_t`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub endpoint_id: String,
    /// The path template, e.g. `/orders/{id}`.
    pub path: String,
    /// An HTTP method, upper case.
    pub method: String,
}

/// What the snapshot knows of one user of the host, for subjects named by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFacts {
    pub roles: Vec<(String, Dates)>,
    pub groups: Vec<(String, Dates)>,
    /// (attribute name, value, dates).
    pub attributes: Vec<(String, String, Dates)>,
}

/// A subject's facts on the day of a decision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub user_id: String,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub attributes: Vec<(String, String)>,
}

impl Subject {
    /// The subject of a Tessera access token's verified claims: `sub`, and the
    /// profile's `role` and `grp` (names joined by spaces) and `att` (the seed's
    /// attribute encoding). Answers none for a token without a subject or with an `att`
    /// claim that does not parse.
    #[must_use]
    pub fn from_claims(claims: &serde_json::Map<String, serde_json::Value>) -> Option<Self> {
        let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
        let names = |name: &str| -> Vec<String> {
            text(name)
                .map(|t| t.split(' ').filter(|n| !n.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let attributes = match text("att") {
            Some(att) => super::profile::parse_attributes(att).ok()?,
            None => Vec::new(),
        };
        Some(Self {
            user_id: text("sub")?.to_owned(),
            roles: names("role"),
            groups: names("grp"),
            attributes,
        })
    }
}

/// Why a decision came out as it did, for the caller's logs (AuthZEN's `context`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No endpoint of the host matches the path and method.
    UnknownEndpoint,
    /// The endpoint exists; nothing grants it to the subject.
    NotGranted,
    /// Granted by this kind of permission (`role`, `group`, `user`, `attribute`) and
    /// the name that matched (the role, group, attribute; the user's id).
    Granted { kind: &'static str, by: String },
}

/// A decision and its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub endpoint_id: Option<String>,
    pub reason: Reason,
}

/// One host's endpoints, permissions and users' assignments.
#[derive(Clone, Debug, Default)]
pub struct PolicySnapshot {
    endpoints: Vec<Endpoint>,
    /// endpoint id → role names granted.
    roles: HashMap<String, HashSet<String>>,
    /// endpoint id → group names granted.
    groups: HashMap<String, HashSet<String>>,
    /// endpoint id → (attribute name, value) pairs granted.
    attributes: HashMap<String, Vec<(String, String)>>,
    /// (user id, endpoint id) → the spans the user permission counts.
    user_grants: HashMap<(String, String), Vec<Dates>>,
    users: HashMap<String, UserFacts>,
    default_role: Option<String>,
}

/// The rows a snapshot is built from, as the store reads them.
#[derive(Clone, Debug, Default)]
pub struct PolicyRows {
    pub endpoints: Vec<Endpoint>,
    /// (endpoint id, role name).
    pub role_permissions: Vec<(String, String)>,
    /// (endpoint id, group name).
    pub group_permissions: Vec<(String, String)>,
    /// (endpoint id, attribute name, value).
    pub attribute_permissions: Vec<(String, String, String)>,
    /// (endpoint id, user id, dates).
    pub user_permissions: Vec<(String, String, Dates)>,
    /// (user id, role name, dates).
    pub user_roles: Vec<(String, String, Dates)>,
    /// (user id, group name, dates).
    pub user_groups: Vec<(String, String, Dates)>,
    /// (user id, attribute name, value, dates).
    pub user_attributes: Vec<(String, String, String, Dates)>,
    /// The ids of the host's members (who may have no assignment at all).
    pub members: Vec<String>,
    pub default_role: Option<String>,
}

impl PolicySnapshot {
    /// Builds the snapshot from its rows.
    #[must_use]
    pub fn from_rows(rows: PolicyRows) -> Self {
        let mut s = Self {
            endpoints: rows.endpoints,
            default_role: rows.default_role,
            ..Self::default()
        };
        for e in &mut s.endpoints {
            e.method = e.method.to_ascii_uppercase();
        }
        for (endpoint, role) in rows.role_permissions {
            s.roles.entry(endpoint).or_default().insert(role);
        }
        for (endpoint, group) in rows.group_permissions {
            s.groups.entry(endpoint).or_default().insert(group);
        }
        for (endpoint, name, value) in rows.attribute_permissions {
            s.attributes.entry(endpoint).or_default().push((name, value));
        }
        for (endpoint, user, dates) in rows.user_permissions {
            s.user_grants.entry((user, endpoint)).or_default().push(dates);
        }
        for user in rows.members {
            s.users.entry(user).or_default();
        }
        for (user, role, dates) in rows.user_roles {
            s.users.entry(user).or_default().roles.push((role, dates));
        }
        for (user, group, dates) in rows.user_groups {
            s.users.entry(user).or_default().groups.push((group, dates));
        }
        for (user, name, value, dates) in rows.user_attributes {
            s.users
                .entry(user)
                .or_default()
                .attributes
                .push((name, value, dates));
        }
        s
    }

    /// The subject of a member of the host on `day`: the assignments in effect, the
    /// default role when none is; none when the user is not a member.
    #[must_use]
    pub fn subject(&self, user_id: &str, day: &str) -> Option<Subject> {
        let facts = self.users.get(user_id)?;
        let mut roles: Vec<String> = facts
            .roles
            .iter()
            .filter(|(_, d)| d.cover(day))
            .map(|(r, _)| r.clone())
            .collect();
        if roles.is_empty() {
            roles.extend(self.default_role.clone());
        }
        Some(Subject {
            user_id: user_id.to_owned(),
            roles,
            groups: facts
                .groups
                .iter()
                .filter(|(_, d)| d.cover(day))
                .map(|(g, _)| g.clone())
                .collect(),
            attributes: facts
                .attributes
                .iter()
                .filter(|(_, _, d)| d.cover(day))
                .map(|(n, v, _)| (n.clone(), v.clone()))
                .collect(),
        })
    }

    /// The endpoint a request for `path` with `method` calls: the most specific
    /// template matching it.
    #[must_use]
    pub fn endpoint(&self, path: &str, method: &str) -> Option<&Endpoint> {
        let method = method.to_ascii_uppercase();
        let path = segments(path);
        self.endpoints
            .iter()
            .filter(|e| e.method == method)
            .filter_map(|e| specificity(&segments(&e.path), &path).map(|s| (s, e)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, e)| e)
    }

    /// May `subject` call `path` with `method` on `day`?
    #[must_use]
    pub fn decide(&self, subject: &Subject, path: &str, method: &str, day: &str) -> Decision {
        let Some(endpoint) = self.endpoint(path, method) else {
            return Decision {
                allowed: false,
                endpoint_id: None,
                reason: Reason::UnknownEndpoint,
            };
        };
        let id = &endpoint.endpoint_id;
        let granted = |kind: &'static str, by: &str| Decision {
            allowed: true,
            endpoint_id: Some(id.clone()),
            reason: Reason::Granted {
                kind,
                by: by.to_owned(),
            },
        };
        if let Some(role) = self
            .roles
            .get(id)
            .and_then(|granted| subject.roles.iter().find(|r| granted.contains(*r)))
        {
            return granted("role", role);
        }
        if let Some(group) = self
            .groups
            .get(id)
            .and_then(|granted| subject.groups.iter().find(|g| granted.contains(*g)))
        {
            return granted("group", group);
        }
        let key = (subject.user_id.clone(), id.clone());
        if self
            .user_grants
            .get(&key)
            .is_some_and(|spans| spans.iter().any(|d| d.cover(day)))
        {
            return granted("user", &subject.user_id);
        }
        if let Some((name, _)) = self.attributes.get(id).and_then(|wanted| {
            wanted
                .iter()
                .find(|(n, v)| subject.attributes.iter().any(|(sn, sv)| sn == n && sv == v))
        }) {
            return granted("attribute", name);
        }
        Decision {
            allowed: false,
            endpoint_id: Some(id.clone()),
            reason: Reason::NotGranted,
        }
    }
}

/// A path's segments, without empty ones (`/a//b/` is `a`, `b`) and without a query.
fn segments(path: &str) -> Vec<&str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn is_parameter(segment: &str) -> bool {
    segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}')
}

/// Whether a template matches a path, and how specifically: one flag per segment,
/// `true` for a literal, so that comparing the vectors prefers a literal at the first
/// segment where two templates differ. A template given as the path (parameters
/// written as such) matches itself, every segment literally.
fn specificity(template: &[&str], path: &[&str]) -> Option<Vec<bool>> {
    if template.len() != path.len() {
        return None;
    }
    template
        .iter()
        .zip(path)
        .map(|(t, p)| {
            if t == p {
                Some(true)
            } else if is_parameter(t) {
                Some(false)
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(start: &str) -> Dates {
        Dates {
            start: start.into(),
            end: None,
        }
    }

    fn until(start: &str, end: &str) -> Dates {
        Dates {
            start: start.into(),
            end: Some(end.into()),
        }
    }

    fn endpoint(id: &str, path: &str, method: &str) -> Endpoint {
        Endpoint {
            endpoint_id: id.into(),
            path: path.into(),
            method: method.into(),
        }
    }

    fn snapshot() -> PolicySnapshot {
        PolicySnapshot::from_rows(PolicyRows {
            endpoints: vec![
                endpoint("get-order", "/orders/{id}", "GET"),
                endpoint("new-order", "/orders/new", "get"),
                endpoint("list", "/orders", "GET"),
                endpoint("delete", "/orders/{id}", "DELETE"),
                endpoint("report", "/reports/{year}/{month}", "GET"),
            ],
            role_permissions: vec![("get-order".into(), "clerk".into())],
            group_permissions: vec![("list".into(), "night-shift".into())],
            attribute_permissions: vec![("report".into(), "country".into(), "CAN".into())],
            user_permissions: vec![(
                "delete".into(),
                "u-temp".into(),
                until("2026-01-01", "2026-01-31"),
            )],
            user_roles: vec![
                ("u-clerk".into(), "clerk".into(), open("2026-01-01")),
                ("u-former".into(), "clerk".into(), until("2025-01-01", "2025-12-31")),
            ],
            user_groups: vec![("u-night".into(), "night-shift".into(), open("2026-01-01"))],
            user_attributes: vec![
                ("u-can".into(), "country".into(), "CAN".into(), open("2026-01-01")),
                ("u-usa".into(), "country".into(), "USA".into(), open("2026-01-01")),
            ],
            members: vec!["u-temp".into(), "u-none".into()],
            default_role: Some("staff".into()),
        })
    }

    fn decide(user: &str, path: &str, method: &str, day: &str) -> Decision {
        let s = snapshot();
        let subject = s.subject(user, day).unwrap_or_else(|| panic!("{user}"));
        s.decide(&subject, path, method, day)
    }

    const DAY: &str = "2026-01-15";

    #[test]
    fn a_role_permission_grants_its_holders_and_no_one_else() {
        let d = decide("u-clerk", "/orders/42", "GET", DAY);
        assert!(d.allowed);
        assert_eq!(d.endpoint_id.as_deref(), Some("get-order"));
        assert_eq!(
            d.reason,
            Reason::Granted {
                kind: "role",
                by: "clerk".into()
            }
        );
        assert_eq!(decide("u-none", "/orders/42", "GET", DAY).reason, Reason::NotGranted);
    }

    #[test]
    fn an_ended_role_grants_nothing_and_the_default_role_stands_in() {
        assert!(!decide("u-former", "/orders/42", "GET", DAY).allowed);
        let s = snapshot();
        assert_eq!(
            s.subject("u-former", DAY).map(|x| x.roles),
            Some(vec!["staff".to_owned()])
        );
        assert_eq!(
            s.subject("u-former", "2025-06-01").map(|x| x.roles),
            Some(vec!["clerk".to_owned()])
        );
        assert!(decide("u-former", "/orders/42", "GET", "2025-06-01").allowed);
    }

    #[test]
    fn a_group_permission_grants_the_groups_members() {
        let d = decide("u-night", "/orders", "GET", DAY);
        assert!(d.allowed, "{d:?}");
        assert!(!decide("u-clerk", "/orders", "GET", DAY).allowed);
    }

    #[test]
    fn a_user_permission_counts_between_its_dates_only() {
        assert!(decide("u-temp", "/orders/7", "DELETE", "2026-01-31").allowed);
        assert!(!decide("u-temp", "/orders/7", "DELETE", "2026-02-01").allowed);
        assert!(!decide("u-temp", "/orders/7", "DELETE", "2025-12-31").allowed);
    }

    #[test]
    fn an_attribute_permission_needs_the_exact_value() {
        assert!(decide("u-can", "/reports/2026/01", "GET", DAY).allowed);
        assert!(!decide("u-usa", "/reports/2026/01", "GET", DAY).allowed);
        // Before the attribute counts.
        assert!(!decide("u-can", "/reports/2026/01", "GET", "2025-12-31").allowed);
    }

    #[test]
    fn the_method_must_match_and_unknown_paths_are_refused() {
        assert_eq!(
            decide("u-clerk", "/orders/42", "POST", DAY).reason,
            Reason::UnknownEndpoint
        );
        assert_eq!(
            decide("u-clerk", "/orders/42/items", "GET", DAY).reason,
            Reason::UnknownEndpoint
        );
        // Methods compare case-insensitively.
        assert!(decide("u-clerk", "/orders/42", "get", DAY).allowed);
    }

    #[test]
    fn a_literal_segment_beats_a_parameter() {
        let s = snapshot();
        assert_eq!(
            s.endpoint("/orders/new", "GET").map(|e| e.endpoint_id.as_str()),
            Some("new-order")
        );
        assert_eq!(
            s.endpoint("/orders/old", "GET").map(|e| e.endpoint_id.as_str()),
            Some("get-order")
        );
        // The template itself, trailing slashes and a query string.
        assert_eq!(
            s.endpoint("/orders/{id}", "GET").map(|e| e.endpoint_id.as_str()),
            Some("get-order")
        );
        assert_eq!(
            s.endpoint("/orders/9/?x=1", "GET").map(|e| e.endpoint_id.as_str()),
            Some("get-order")
        );
    }

    #[test]
    fn a_subject_is_read_from_the_profile_claims_a_token_carries() {
        let profile = crate::domain::SecurityProfile {
            roles: vec!["clerk".into(), "staff".into()],
            groups: vec!["night-shift".into()],
            attributes: vec![("country".into(), "CAN".into()), ("note".into(), "a~b".into())],
            ..crate::domain::SecurityProfile::default()
        };
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), "u-1".into());
        profile.write_claims(&mut claims);
        let subject = Subject::from_claims(&claims).unwrap_or_default();
        assert_eq!(subject.user_id, "u-1");
        assert_eq!(subject.roles, ["clerk", "staff"]);
        assert_eq!(subject.groups, ["night-shift"]);
        assert!(subject.attributes.contains(&("note".into(), "a~b".into())));
        claims.remove("sub");
        assert_eq!(Subject::from_claims(&claims), None);
    }

    #[test]
    fn a_subject_from_token_claims_decides_as_the_same_user_by_id() {
        let s = snapshot();
        for user in ["u-clerk", "u-night", "u-can", "u-usa", "u-temp", "u-none"] {
            let by_id = s.subject(user, DAY).unwrap_or_default();
            // What a token issued today carries: the same facts.
            let from_token = Subject {
                user_id: user.into(),
                roles: by_id.roles.clone(),
                groups: by_id.groups.clone(),
                attributes: by_id.attributes.clone(),
            };
            for (path, method) in [
                ("/orders/1", "GET"),
                ("/orders", "GET"),
                ("/orders/1", "DELETE"),
                ("/reports/2026/01", "GET"),
            ] {
                assert_eq!(
                    s.decide(&by_id, path, method, DAY),
                    s.decide(&from_token, path, method, DAY),
                    "{user} {method} {path}"
                );
            }
        }
        assert_eq!(s.subject("stranger", DAY), None);
    }
}
