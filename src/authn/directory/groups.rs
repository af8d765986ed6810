//! Group membership: nested groups by AD's in-chain rule or by expansion, and the
//! mapping of directory groups to Tessera roles and groups.

use std::collections::{BTreeSet, HashSet, VecDeque};

use ldap3::{ldap_escape, Ldap, Scope, SearchEntry};

use super::{Directory, DirectoryError, DirectoryKind, IN_CHAIN};
use crate::domain::dn::Dn;

impl Directory {
    /// Every group that contains `user_dn`, directly or through other groups.
    pub(super) async fn groups_of(
        &self,
        service: &mut Ldap,
        user_dn: &str,
    ) -> Result<Vec<String>, DirectoryError> {
        if self.settings.kind == DirectoryKind::ActiveDirectory {
            let filter = format!("(member:{IN_CHAIN}:={})", ldap_escape(user_dn));
            return self.search_group_dns(service, &filter).await;
        }
        // Servers without the in-chain rule: expand breadth-first from the direct groups.
        let mut seen: HashSet<Dn> = HashSet::new();
        let mut found = Vec::new();
        let mut queue = VecDeque::from([user_dn.to_owned()]);
        while let Some(member) = queue.pop_front() {
            let filter = format!("(member={})", ldap_escape(&member));
            for group in self.search_group_dns(service, &filter).await? {
                let parsed =
                    Dn::parse(&group).map_err(|e| DirectoryError::Protocol(e.to_string()))?;
                if seen.insert(parsed) {
                    queue.push_back(group.clone());
                    found.push(group);
                }
            }
            if found.len() > 1000 {
                tracing::warn!(host = %self.settings.host, "group expansion stopped at 1000 groups");
                break;
            }
        }
        Ok(found)
    }

    pub(super) async fn search_group_dns(
        &self,
        service: &mut Ldap,
        filter: &str,
    ) -> Result<Vec<String>, DirectoryError> {
        let result = service
            .with_timeout(self.timeout())
            .search(
                self.settings.group_base(),
                Scope::Subtree,
                filter,
                vec!["1.1"],
            )
            .await
            .map_err(|e| self.protocol("group search", &e))?;
        Ok(result
            .0
            .into_iter()
            .filter(|e| !e.is_ref())
            .map(|e| SearchEntry::construct(e).dn)
            .collect())
    }

    /// The Tessera roles and groups the directory groups map to.
    pub(super) fn map_groups(&self, group_dns: &[String]) -> (BTreeSet<String>, BTreeSet<String>) {
        let parsed: Vec<Dn> = group_dns.iter().filter_map(|g| Dn::parse(g).ok()).collect();
        let mut roles = BTreeSet::new();
        let mut groups = BTreeSet::new();
        for mapping in &self.settings.group_map {
            let matches = match Dn::parse(&mapping.group) {
                Ok(dn) if mapping.group.contains('=') => parsed.contains(&dn),
                _ => {
                    let name = mapping.group.to_lowercase();
                    parsed.iter().any(|g| g.leaf_value() == Some(name.as_str()))
                }
            };
            if matches {
                roles.extend(mapping.roles.iter().cloned());
                groups.extend(mapping.groups.iter().cloned());
            }
        }
        (roles, groups)
    }
}
