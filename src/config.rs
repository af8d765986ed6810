//! Configuration: built-in defaults, then `tessera.toml` (or the file named by
//! `--config`/`TESSERA_CONFIG`), then `TESSERA_*` environment variables, where `__`
//! separates nested keys (`TESSERA_TOKENS__ACCESS_TOKEN_TTL=600`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

mod env_check;

use crate::authn::directory::DirectorySettings;
use crate::domain::throttle::Policy;
use crate::keys::Algorithm;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier (OpenID Connect Discovery §3): an https URL in production.
    /// With `listen` on port 0 and the default issuer, the real port is used.
    pub issuer: String,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://PATH?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`.
    pub database_url: String,
    /// Maximum connections in the database pool.
    pub database_max_connections: u32,
    /// Development mode: demo host, client and user on an empty database.
    pub dev: bool,
    /// Folder of operator-supplied PEM signing keys, imported at start. Tessera never
    /// writes keys there: its keys live in the database, sealed.
    pub keys_dir: PathBuf,
    /// The key-encryption key (32 random bytes in base64) that seals the private
    /// signing keys in the database. Empty: in development mode a file generated beside
    /// the database ([`Config::key_encryption_key_path`]); required otherwise.
    pub key_encryption_key_file: PathBuf,
    /// Earlier key-encryption keys, still accepted to open keys sealed by them until
    /// `tessera keys rewrap` has resealed every key under the current one.
    pub previous_key_encryption_key_files: Vec<PathBuf>,
    /// The signing algorithm for ID and access tokens: RS256, PS256, ES256 or EdDSA.
    pub signing_alg: Algorithm,
    pub tokens: TokenConfig,
    pub session: SessionConfig,
    pub server: ServerConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub audit: AuditConfig,
    pub throttle: ThrottleConfig,
    /// The hosts' directories (`[[directories]]`), for employees' sign-in. A host
    /// configured here ignores a directory kept in the database for it (the file wins).
    #[serde(default)]
    pub directories: Vec<DirectorySettings>,
    /// The folder from which directories kept in the database (set through the
    /// management API) may read their service password, as `file:/path` inside it.
    /// None: such directories take their password from an environment variable
    /// `TESSERA_DIRECTORY_PASSWORD_*` only.
    #[serde(default)]
    pub directory_password_files: Option<PathBuf>,
}

/// Lifetimes in seconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub authorization_code_ttl: i64,
    /// How long a rotated refresh token may still be presented (a client's retry after a
    /// lost response) and get the same answer back, before its reuse revokes the whole
    /// family. 0 (the default) turns retries off: any second use revokes the family.
    pub refresh_reuse_grace: i64,
    /// The `aud` of access tokens (RFC 9068 §3): the resource servers' identifier.
    /// Empty means the issuer itself.
    pub access_token_audience: String,
    /// The longest lifetime an API token may be given (issue 14). Tokens are
    /// exchanged for JWTs of `access_token_ttl`, which also bounds what a token
    /// exchange for another audience may ask for.
    pub api_token_max_ttl: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// SSO session lifetime in seconds of inactivity.
    pub ttl: i64,
    /// `auto` (Secure when the issuer is https), `always` or `never`.
    pub secure_cookie: CookieSecurity,
    pub cookie_name: String,
}

/// Limits on client connections (see `docs/operations.md`). Times in seconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// How long a client may take to send a request's headers, counted from the
    /// moment the server waits for them (a new connection, or the next request).
    pub header_read_timeout: u64,
    /// How long a kept-alive connection may stay idle after a response.
    pub keep_alive_timeout: u64,
    /// How long a request may take, body and handler included (answered with 408).
    pub request_timeout: u64,
    /// Open connections at most; further clients wait in the listen backlog.
    pub max_connections: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// A separate listener for `/metrics` (`127.0.0.1:9464`); empty for none.
    pub listen: String,
    /// A bearer token that opens `/metrics` on the public listener; empty: not served
    /// there. Best set through `TESSERA_METRICS__TOKEN`.
    pub token: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// The audit trail (`docs/admin-api.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Days an entry is kept before the purge deletes it; 0 keeps entries for ever.
    pub retention_days: i64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Brute-force throttling of sign-ins (`docs/brute-force.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    /// Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// How long a browser stays a known device after a sign-in, in seconds.
    pub device_ttl: i64,
    /// Failures per login; hosts may override it (`tessera host throttle`).
    pub account: Policy,
    /// Failures per client address, across every login.
    pub address: Policy,
}

impl ThrottleConfig {
    /// The trusted proxies as networks (a bare address is a network of one).
    ///
    /// # Errors
    /// On an entry that is neither an address nor a CIDR range.
    pub fn proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "throttle.trusted_proxies: {p:?} is not an address or a CIDR range"
                        )
                    })
            })
            .collect()
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecurity {
    Auto,
    Always,
    Never,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://tessera.db?mode=rwc".to_owned(),
            database_max_connections: 16,
            dev: false,
            keys_dir: PathBuf::from("keys"),
            key_encryption_key_file: PathBuf::new(),
            previous_key_encryption_key_files: Vec::new(),
            signing_alg: Algorithm::RS256,
            tokens: TokenConfig {
                access_token_ttl: 300,
                id_token_ttl: 300,
                refresh_token_ttl: 30 * 24 * 3600,
                authorization_code_ttl: 60,
                refresh_reuse_grace: 0,
                access_token_audience: String::new(),
                api_token_max_ttl: 365 * 24 * 3600,
            },
            session: SessionConfig {
                ttl: 8 * 3600,
                secure_cookie: CookieSecurity::Auto,
                cookie_name: "tessera_session".to_owned(),
            },
            // Node's defaults: headersTimeout 60 s, keepAliveTimeout 5 s,
            // requestTimeout 300 s.
            server: ServerConfig {
                header_read_timeout: 60,
                keep_alive_timeout: 5,
                request_timeout: 300,
                max_connections: 10_000,
            },
            metrics: MetricsConfig {
                listen: String::new(),
                token: String::new(),
            },
            log: LogConfig {
                format: LogFormat::Text,
            },
            // A year and a month: a year's reviews can look back over the whole year.
            audit: AuditConfig {
                retention_days: 400,
            },
            throttle: ThrottleConfig {
                trusted_proxies: Vec::new(),
                device_ttl: 90 * 24 * 3600,
                account: Policy::account(),
                address: Policy::address(),
            },
            directories: Vec::new(),
            directory_password_files: None,
        }
    }
}

impl Config {
    /// Loads defaults, then the TOML file (if it exists), then the environment.
    ///
    /// # Errors
    /// When the file or a variable does not parse, or a value is out of range.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let path = file.map_or_else(|| PathBuf::from("tessera.toml"), Path::to_path_buf);
        if file.is_some() && !path.exists() {
            anyhow::bail!("configuration file {} does not exist", path.display());
        }
        refuse_unknown_env()?;
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&path))
            .merge(env_provider())
            .extract()?;
        config.validate()?;
        Ok(config)
    }

    /// # Errors
    /// When a setting is unusable.
    pub fn validate(&self) -> anyhow::Result<()> {
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| anyhow::anyhow!("issuer {:?} is not a URL: {e}", self.issuer))?;
        // OpenID Connect Discovery §3: https, no query or fragment.
        if issuer.query().is_some() || issuer.fragment().is_some() {
            anyhow::bail!("the issuer must not have a query or a fragment");
        }
        if issuer.scheme() != "https" && !self.dev && !is_loopback(&issuer) {
            anyhow::bail!("the issuer must be an https URL outside development mode");
        }
        let t = &self.tokens;
        for (name, v) in [
            ("access_token_ttl", t.access_token_ttl),
            ("id_token_ttl", t.id_token_ttl),
            ("refresh_token_ttl", t.refresh_token_ttl),
            ("authorization_code_ttl", t.authorization_code_ttl),
            ("api_token_max_ttl", t.api_token_max_ttl),
            ("session.ttl", self.session.ttl),
        ] {
            if v <= 0 {
                anyhow::bail!("tokens.{name} must be a positive number of seconds");
            }
        }
        if t.refresh_reuse_grace < 0 {
            anyhow::bail!("tokens.refresh_reuse_grace must not be negative");
        }
        let s = &self.server;
        for (name, v) in [
            ("header_read_timeout", s.header_read_timeout),
            ("keep_alive_timeout", s.keep_alive_timeout),
            ("request_timeout", s.request_timeout),
        ] {
            if v == 0 {
                anyhow::bail!("server.{name} must be a positive number of seconds");
            }
        }
        if s.max_connections == 0 {
            anyhow::bail!("server.max_connections must be positive");
        }
        self.metrics_listen()?;
        for (name, policy) in [
            ("account", &self.throttle.account),
            ("address", &self.throttle.address),
        ] {
            if let Some(problem) = policy.problem() {
                anyhow::bail!("throttle.{name}: {problem}");
            }
        }
        if self.throttle.device_ttl <= 0 {
            anyhow::bail!("throttle.device_ttl must be a positive number of seconds");
        }
        self.throttle.proxies()?;
        Ok(())
    }

    /// The issuer without a trailing slash, the base of every endpoint URL.
    #[must_use]
    pub fn issuer_base(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    #[must_use]
    pub fn secure_cookies(&self) -> bool {
        match self.session.secure_cookie {
            CookieSecurity::Always => true,
            CookieSecurity::Never => false,
            CookieSecurity::Auto => self.issuer.starts_with("https://"),
        }
    }

    #[must_use]
    pub fn access_token_audience(&self) -> &str {
        if self.tokens.access_token_audience.is_empty() {
            self.issuer_base()
        } else {
            &self.tokens.access_token_audience
        }
    }

    /// The separate metrics listener's address, if one is configured.
    ///
    /// # Errors
    /// When `metrics.listen` is not a socket address.
    pub fn metrics_listen(&self) -> anyhow::Result<Option<SocketAddr>> {
        let listen = self.metrics.listen.trim();
        if listen.is_empty() {
            return Ok(None);
        }
        listen
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("metrics.listen {listen:?} is not an address: {e}"))
    }

    /// The longest time a token signed now can stay valid: how long a retired key
    /// must stay published.
    #[must_use]
    pub fn max_signed_token_ttl(&self) -> i64 {
        self.tokens.access_token_ttl.max(self.tokens.id_token_ttl)
    }
}

impl Config {
    /// The key-encryption key file: the configured one, or in development mode a file
    /// beside the SQLite database (`DATABASE.kek`; `tessera.kek` in the working
    /// directory for PostgreSQL or an in-memory database).
    ///
    /// # Errors
    /// Outside development mode when none is configured: a node must not start with
    /// keys it cannot protect, nor invent a key that other nodes would not share.
    pub fn key_encryption_key_path(&self) -> anyhow::Result<PathBuf> {
        if !self.key_encryption_key_file.as_os_str().is_empty() {
            return Ok(self.key_encryption_key_file.clone());
        }
        if !self.dev {
            anyhow::bail!(
                "no key-encryption key: set key_encryption_key_file \
                 (TESSERA_KEY_ENCRYPTION_KEY_FILE) to a file of 32 random bytes in base64, \
                 made with `tessera keys new-kek FILE` (see docs/deployment.md)"
            );
        }
        Ok(self.sqlite_file().map_or_else(
            || PathBuf::from("tessera.kek"),
            |path| PathBuf::from(format!("{path}.kek")),
        ))
    }
}

impl Config {
    /// The SQLite database's file (`tessera.db` for `sqlite://tessera.db?mode=rwc`), or
    /// `None` for PostgreSQL or an in-memory database.
    #[must_use]
    pub fn sqlite_file(&self) -> Option<&str> {
        self.database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or_default())
            .filter(|path| !path.is_empty() && !path.contains(":memory:"))
    }
}

fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

fn env_provider() -> Env {
    // TESSERA_CONFIG and TESSERA_LOG are read elsewhere; TESSERA_TEST_* belong to the
    // test suite.
    Env::prefixed("TESSERA_")
        .filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            // `TESSERA_DIRECTORY_PASSWORD_*` hold directories' service passwords, read
            // by reference (`authn::directory::settings`), not settings.
            let password = key.starts_with(PASSWORD_PREFIX) && key != "directory_password_files";
            !key.starts_with("test_") && key != "config" && key != "log" && !password
        })
        .split("__")
}

/// The lower-case key of `TESSERA_DIRECTORY_PASSWORD_*` after `TESSERA_`.
const PASSWORD_PREFIX: &str = "directory_password_";

/// Refuses `TESSERA_*` variables that match no setting, naming the closest one: a typo
/// must not be silently ignored, and figment's own refusal of the unknown field names
/// neither the variable nor what was meant. Names read elsewhere are listed here; a
/// section's keys (`X__`) are checked against `Config` itself (`env_check`).
fn refuse_unknown_env() -> anyhow::Result<()> {
    const KNOWN: &[&str] = &[
        "ISSUER",
        "LISTEN",
        "DATABASE_URL",
        "DATABASE_MAX_CONNECTIONS",
        "DEV",
        "KEYS_DIR",
        "KEY_ENCRYPTION_KEY_FILE",
        "PREVIOUS_KEY_ENCRYPTION_KEY_FILES",
        "SIGNING_ALG",
        "TOKENS__",
        "SESSION__",
        "SERVER__",
        "METRICS__",
        "LOG__",
        "THROTTLE__",
        "DIRECTORIES",
        "DIRECTORY_PASSWORD_",
        "CONFIG",
        "TEST_",
        "LOG",
    ];
    let defaults = serde_json::to_value(Config::default())?;
    let mut problems: Vec<String> = std::env::vars()
        .filter_map(|(name, _)| env_check::unknown_variable(&name, &defaults, KNOWN))
        .collect();
    problems.sort();
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_in_development() {
        let config = Config {
            dev: true,
            ..Config::default()
        };
        config.validate().unwrap();
    }

    #[test]
    fn the_example_file_documents_the_defaults() {
        let text = include_str!("../tessera.example.toml");
        let example: Config = Figment::from(Toml::string(text)).extract().unwrap();
        assert_eq!(
            serde_json::to_value(&example).unwrap(),
            serde_json::to_value(Config::default()).unwrap()
        );
    }

    #[test]
    fn cookies_are_secure_when_the_issuer_is_https() {
        let mut config = Config {
            issuer: "https://id.example".into(),
            ..Config::default()
        };
        assert!(config.secure_cookies());
        config.issuer = "http://127.0.0.1:8080".into();
        assert!(!config.secure_cookies());
        config.session.secure_cookie = CookieSecurity::Always;
        assert!(config.secure_cookies());
    }

    #[test]
    fn a_key_encryption_key_is_required_outside_development() {
        let config = Config::default();
        let error = config.key_encryption_key_path().unwrap_err().to_string();
        assert!(error.contains("TESSERA_KEY_ENCRYPTION_KEY_FILE"), "{error}");
        let config = Config {
            key_encryption_key_file: "/run/secrets/kek".into(),
            ..Config::default()
        };
        assert_eq!(
            config.key_encryption_key_path().unwrap(),
            Path::new("/run/secrets/kek")
        );
    }

    #[test]
    fn development_mode_keeps_its_key_encryption_key_beside_the_database() {
        let mut config = Config {
            dev: true,
            database_url: "sqlite:///var/lib/tessera/tessera.db?mode=rwc".into(),
            ..Config::default()
        };
        assert_eq!(
            config.key_encryption_key_path().unwrap(),
            Path::new("/var/lib/tessera/tessera.db.kek")
        );
        config.database_url = "postgres://db/tessera".into();
        assert_eq!(
            config.key_encryption_key_path().unwrap(),
            Path::new("tessera.kek")
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let mut config = Config {
            dev: true,
            ..Config::default()
        };
        config.throttle.trusted_proxies = vec!["10.0.0.0/8".into(), "::1".into()];
        assert_eq!(config.throttle.proxies().unwrap().len(), 2);
        config.validate().unwrap();
        config.throttle.trusted_proxies.push("proxy.example".into());
        assert!(config.validate().is_err());
    }

    #[test]
    fn a_public_http_issuer_is_refused_outside_development() {
        let config = Config {
            issuer: "http://id.example.com".into(),
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "t.toml",
                "issuer = \"https://file.example\"\n[tokens]\naccess_token_ttl = 60",
            )?;
            jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL", "120");
            let config = Config::load(Some(Path::new("t.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.issuer, "https://file.example");
            assert_eq!(config.tokens.access_token_ttl, 120);
            Ok(())
        });
    }
}
