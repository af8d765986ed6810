//! Connections to a directory: failover across the URLs with timeouts, TLS with the
//! configured CA, and the pool of connections bound as the service account.

use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError};

use super::{Directory, DirectoryError};

impl Directory {
    /// A connection to the first server that answers.
    pub(super) async fn connect(&self) -> Result<Ldap, DirectoryError> {
        for url in &self.settings.urls {
            let mut conn_settings = LdapConnSettings::new()
                .set_conn_timeout(Duration::from_secs(self.settings.connect_timeout))
                .set_starttls(self.settings.starttls && url.starts_with("ldap://"));
            if let Some(tls) = &self.tls {
                conn_settings = conn_settings.set_connector(tls.clone());
            }
            let attempt = tokio::time::timeout(
                Duration::from_secs(
                    self.settings.connect_timeout + self.settings.operation_timeout,
                ),
                LdapConnAsync::with_settings(conn_settings, url),
            )
            .await;
            match attempt {
                Ok(Ok((conn, ldap))) => {
                    ldap3::drive!(conn);
                    return Ok(ldap);
                }
                Ok(Err(e)) => {
                    tracing::warn!(host = %self.settings.host, %url, error = %e, "directory server failed")
                }
                Err(_) => {
                    tracing::warn!(host = %self.settings.host, %url, "directory server did not answer in time")
                }
            }
        }
        Err(DirectoryError::Unavailable)
    }

    /// A pooled service connection, if one is open.
    pub(super) fn pooled_connection(&self) -> Option<Ldap> {
        let mut pool = self.pool.lock().ok()?;
        while let Some(mut ldap) = pool.pop() {
            if !ldap.is_closed() {
                return Some(ldap);
            }
        }
        None
    }

    /// A new connection bound as the service account.
    pub(super) async fn fresh_service(&self) -> Result<Ldap, DirectoryError> {
        let mut ldap = self.connect().await?;
        let result = ldap
            .with_timeout(self.timeout())
            .simple_bind(&self.settings.bind_dn, self.password.expose())
            .await
            .map_err(|e| self.protocol("service bind", &e))?;
        if result.rc != 0 {
            tracing::error!(host = %self.settings.host, rc = result.rc, text = %result.text, "the service account cannot bind");
            return Err(DirectoryError::Protocol(format!(
                "service bind refused ({})",
                result.rc
            )));
        }
        Ok(ldap)
    }

    /// How many service connections wait in the pool.
    #[must_use]
    pub fn pooled(&self) -> usize {
        self.pool.lock().map_or(0, |p| p.len())
    }

    /// The identity the pooled service connection is bound as (LDAP "Who am I?", RFC
    /// 4532), for checks that no user bind ever lands on it.
    ///
    /// # Errors
    /// When the server does not answer or lacks the operation (AD does).
    pub async fn service_identity(&self) -> Result<String, DirectoryError> {
        let mut ldap = match self.pooled_connection() {
            Some(l) => l,
            None => self.fresh_service().await?,
        };
        let (exop, _) = ldap
            .with_timeout(self.timeout())
            .extended(ldap3::exop::WhoAmI)
            .await
            .and_then(ldap3::result::ExopResult::success)
            .map_err(|e| self.protocol("who am I", &e))?;
        let identity = exop
            .val
            .map(|v| String::from_utf8_lossy(&v[..]).into_owned())
            .unwrap_or_default();
        self.give_back(ldap);
        Ok(identity)
    }

    pub(super) fn give_back(&self, ldap: Ldap) {
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < self.settings.pool_size {
                pool.push(ldap);
            }
        }
    }

    pub(super) fn protocol(&self, what: &str, e: &LdapError) -> DirectoryError {
        tracing::warn!(host = %self.settings.host, error = %e, "directory {what} failed");
        match e {
            LdapError::Timeout { .. } | LdapError::Io { .. } | LdapError::EndOfStream => {
                DirectoryError::Unavailable
            }
            _ => DirectoryError::Protocol(format!("{what}: {e}")),
        }
    }
}
