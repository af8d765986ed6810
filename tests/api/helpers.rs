//! `spawn_app()` and a `TestApp` with one method per endpoint, driving the pages as a
//! browser would (cookie-keeping client that does not follow redirects).

use std::collections::HashMap;
use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::{Response, StatusCode};
use sqlx::{Connection, Executor};
use tessera::app::App;
use tessera::authn::hash_password;
use tessera::config::Config;
use tessera::domain::secret::random_id;
use tessera::domain::{Client, ClientType, Clock, ClockOffset, RedirectUri, Scopes, Secret};
use tessera::http::AppState;
use tessera::oauth::pkce;
use tessera::store::{NewHost, NewUser};

pub const REDIRECT_URI: &str = "https://rp.example/callback";
pub const LOGOUT_URI: &str = "https://rp.example/logged-out";
pub const PASSWORD: &str = "correct horse battery staple";
pub const EMAIL: &str = "alice@example.com";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub struct TestApp {
    pub issuer: String,
    pub state: AppState,
    /// A browser: keeps cookies, does not follow redirects.
    pub browser: reqwest::Client,
    pub host_id: String,
    pub user_id: String,
    /// A confidential client allowed every grant.
    pub client_id: String,
    pub client_secret: String,
    /// A public client (PKCE, no secret).
    pub public_client_id: String,
    /// Moves the app's clock forward.
    pub clock: ClockOffset,
    /// The separate metrics listener's port, when `metrics.listen` is set.
    pub metrics_port: Option<u16>,
    _dir: tempfile::TempDir,
    _database: Option<PgDatabase>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app with a tuned configuration. The hosts that directories name (by
/// domain, `corp.example.com` → id `corp`) are created before the app starts.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, database) = match std::env::var("TESSERA_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            let db = PgDatabase::create(&server).await;
            (db.url.clone(), Some(db))
        }
        _ => (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("tessera.db").display()
            ),
            None,
        ),
    };
    let mut config = Config {
        issuer: String::new(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        database_max_connections: 5,
        keys_dir: dir.path().join("keys"),
        key_encryption_key_file: new_kek(dir.path()),
        ..Config::default()
    };
    tweak(&mut config);
    if !config.directories.is_empty() {
        let store = tessera::app::open_store(&config).await.expect("store");
        for d in &config.directories {
            let id = d.host.split('.').next().unwrap_or_default().to_owned();
            let host = NewHost {
                host_id: id,
                domain: d.host.clone(),
                name: format!("Host {}", d.host),
            };
            let _ = tessera::store::HostStore::create_host(&store, &host, 0).await;
        }
    }
    let (app_clock, clock) = Clock::offset();
    let app = App::build_with_clock(config, app_clock)
        .await
        .expect("app builds");
    let state = app.state().clone();
    let metrics_port = app.metrics_port();
    let issuer = state.config.issuer_base().to_owned();
    tokio::spawn(app.run_until(std::future::pending()));

    let now = state.now();
    let host_id = random_id();
    state
        .store
        .create_host(
            &NewHost {
                host_id: host_id.clone(),
                domain: format!("{host_id}.example"),
                name: "Example".into(),
            },
            now,
        )
        .await
        .expect("host");
    let user_id = random_id();
    state
        .store
        .create_user(
            &NewUser {
                user_id: user_id.clone(),
                email: EMAIL.into(),
                username: Some("alice".into()),
                password_hash: Some(hash_password(PASSWORD).expect("hash")),
                first_name: Some("Alice".into()),
                last_name: Some("Liddell".into()),
                user_type: Some("C".into()),
                verified: true,
            },
            &host_id,
            now,
        )
        .await
        .expect("user");
    let secret = Secret::generate();
    let client_id = random_id();
    state
        .store
        .create_client(
            &client(&client_id, ClientType::Confidential, Some(&secret)),
            now,
        )
        .await
        .expect("client");
    let public_client_id = random_id();
    state
        .store
        .create_client(&client(&public_client_id, ClientType::Public, None), now)
        .await
        .expect("public client");

    let browser = new_browser();
    TestApp {
        issuer,
        state,
        browser,
        host_id,
        user_id,
        client_id,
        client_secret: secret.expose().to_owned(),
        public_client_id,
        clock,
        metrics_port,
        _dir: dir,
        _database: database,
    }
}

/// A new key-encryption key file in `dir`.
pub fn new_kek(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("tessera.kek");
    tessera::keys::kek::generate_file(&path).expect("key-encryption key");
    path
}

/// A node started by [`TestApp::start_node`]: its base URL (its own port; its issuer
/// is the first node's) and its state.
pub struct Node {
    pub base: String,
    pub state: AppState,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A browser: keeps cookies, does not follow redirects.
pub fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn client(client_id: &str, client_type: ClientType, secret: Option<&Secret>) -> Client {
    use tessera::domain::GrantType::{AuthorizationCode, ClientCredentials, RefreshToken};
    let grants: &[tessera::domain::GrantType] = match client_type {
        ClientType::Confidential => &[AuthorizationCode, RefreshToken, ClientCredentials],
        ClientType::Public => &[AuthorizationCode, RefreshToken],
    };
    Client {
        client_id: client_id.into(),
        name: format!("App {client_id}"),
        client_type,
        secret_hash: secret.map(Secret::hash),
        redirect_uris: vec![RedirectUri::parse(REDIRECT_URI).expect("uri")],
        post_logout_redirect_uris: vec![RedirectUri::parse(LOGOUT_URI).expect("uri")],
        grant_types: grants.to_vec(),
        auth_method: None,
        allowed_scopes: Scopes::parse(
            "openid profile email address phone offline_access api:read api:write tessera:api tessera:authz",
        )
        .expect("scopes"),
        require_pkce: true,
        host_id: None,
        profile_in_id_token: false,
        skip_consent: false,
    }
}

/// A fresh database for one test: a new PostgreSQL database on the server named by
/// `TESSERA_TEST_DATABASE_URL`, or an SQLite file in `dir`.
pub async fn fresh_database(dir: &std::path::Path) -> (String, Option<PgDatabase>) {
    match std::env::var("TESSERA_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            let db = PgDatabase::create(&server).await;
            (db.url.clone(), Some(db))
        }
        _ => (
            format!("sqlite://{}?mode=rwc", dir.join("tessera.db").display()),
            None,
        ),
    }
}

/// A fresh PostgreSQL database for one test, dropped when the test ends.
pub struct PgDatabase {
    server: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    async fn create(server: &str) -> Self {
        let name = format!(
            "tessera_test_{}",
            random_id().to_lowercase().replace(['-', '_'], "")
        );
        let mut conn = sqlx::PgConnection::connect(server)
            .await
            .expect("connect to the test PostgreSQL server");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let mut url = url::Url::parse(server).expect("database URL");
        url.set_path(&name);
        Self {
            server: server.to_owned(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; the clean-up gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&server).await {
                        let _ = conn
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

/// The value of a hidden form field in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no Location header (status {})", response.status()))
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .expect("absolute URL")
        .query_pairs()
        .into_owned()
        .collect()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The standard parameters of a valid authorization request by the confidential
    /// client, with PKCE.
    pub fn authorize_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("client_id", self.client_id.clone()),
            ("redirect_uri", REDIRECT_URI.into()),
            ("response_type", "code".into()),
            ("scope", "openid profile email".into()),
            ("state", "st-123".into()),
            ("nonce", "n-456".into()),
            ("code_challenge", pkce::s256_challenge(VERIFIER)),
            ("code_challenge_method", "S256".into()),
        ]
    }

    pub async fn get_authorize(&self, params: &[(&str, String)]) -> Response {
        self.browser
            .get(self.url("/authorize"))
            .query(params)
            .send()
            .await
            .expect("GET /authorize")
    }

    /// Follows redirects inside Tessera (relative or on the issuer) and stops at the
    /// first response that is not one, or that leaves Tessera.
    pub async fn follow(&self, mut response: Response) -> Response {
        for _ in 0..10 {
            if !response.status().is_redirection() {
                return response;
            }
            let to = location(&response);
            let absolute = if to.starts_with('/') {
                self.url(&to)
            } else {
                to.clone()
            };
            if !absolute.starts_with(&self.issuer) {
                return response;
            }
            response = self
                .browser
                .get(absolute)
                .send()
                .await
                .expect("follow redirect");
        }
        response
    }

    /// Fills in and submits the login form of a login page.
    pub async fn submit_login(&self, page: Response, login: &str, password: &str) -> Response {
        assert_eq!(page.status(), StatusCode::OK, "expected the login page");
        let html = page.text().await.expect("body");
        let form = [
            ("csrf", hidden_field(&html, "csrf").expect("csrf field")),
            (
                "request_id",
                hidden_field(&html, "request_id").unwrap_or_default(),
            ),
            ("login", login.to_owned()),
            ("password", password.to_owned()),
        ];
        self.browser
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .expect("POST /login")
    }

    /// Answers the consent page.
    pub async fn submit_consent(&self, page: Response, decision: &str) -> Response {
        assert_eq!(page.status(), StatusCode::OK, "expected the consent page");
        let html = page.text().await.expect("body");
        assert!(
            html.contains("Allow access"),
            "not the consent page: {html}"
        );
        let form = [
            ("csrf", hidden_field(&html, "csrf").expect("csrf field")),
            (
                "request_id",
                hidden_field(&html, "request_id").expect("request_id field"),
            ),
            ("decision", decision.to_owned()),
        ];
        self.browser
            .post(self.url("/consent"))
            .form(&form)
            .send()
            .await
            .expect("POST /consent")
    }

    /// Runs an authorization request through login and consent as the browser would,
    /// returning the final redirect to the client.
    /// Whatever the session already has (a sign-in, a consent) is skipped, as a
    /// browser would see it.
    pub async fn sign_in_through(&self, authorize: Response) -> Response {
        self.sign_in_as(authorize, EMAIL, PASSWORD).await
    }

    /// `sign_in_through` with other credentials.
    pub async fn sign_in_as(&self, authorize: Response, login: &str, password: &str) -> Response {
        let mut response = self.follow(authorize).await;
        let mut done = Vec::new();
        loop {
            let path = response.url().path().to_owned();
            if response.status() != StatusCode::OK || done.contains(&path) {
                return response;
            }
            response = match path.as_str() {
                "/login" => self.submit_login(response, login, password).await,
                "/consent" => self.submit_consent(response, "allow").await,
                _ => return response,
            };
            done.push(path);
            response = self.follow(response).await;
        }
    }

    /// `GET /metrics` on the public listener, with a bearer token if given.
    pub async fn get_metrics(&self, token: Option<&str>) -> Response {
        let mut request = self.browser.get(self.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("GET /metrics")
    }

    /// A code for the standard request.
    pub async fn code(&self) -> String {
        let response = self
            .sign_in_through(self.get_authorize(&self.authorize_params()).await)
            .await;
        let params = query_of(&location(&response));
        params
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code: {params:?}"))
    }

    /// A store of the app's own database with every method, `import` included.
    pub async fn sql_store(&self) -> tessera::store::SqlStore {
        tessera::app::open_store(&self.state.config)
            .await
            .expect("store")
    }

    /// Imports a YAML document.
    pub async fn import(&self, yaml: &str) -> Result<tessera::store::ImportReport, String> {
        let store = self.sql_store().await;
        tessera::import::import_text(
            &store,
            yaml,
            false,
            &tessera::domain::audit::AuditContext::import(None),
            self.state.now(),
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// Registers a confidential client bound to `host_id` (or to none); returns its id
    /// and secret.
    pub async fn client_for_host(
        &self,
        host_id: Option<&str>,
        profile_in_id_token: bool,
    ) -> (String, String) {
        let secret = Secret::generate();
        let id = random_id();
        let mut c = client(&id, ClientType::Confidential, Some(&secret));
        c.host_id = host_id.map(str::to_owned);
        c.profile_in_id_token = profile_in_id_token;
        self.state
            .store
            .create_client(&c, self.state.now())
            .await
            .expect("client");
        (id, secret.expose().to_owned())
    }

    /// Submits `login` and `password` on the login page of a fresh browser for
    /// `client_id`; returns the response to the form (a redirect on success).
    pub async fn login_attempt(&self, client_id: &str, login: &str, password: &str) -> Response {
        let browser = TestApp {
            browser: new_browser(),
            ..self.shallow()
        };
        let mut params = browser.authorize_params();
        params[0].1 = client_id.to_owned();
        let page = browser.follow(browser.get_authorize(&params).await).await;
        browser.submit_login(page, login, password).await
    }

    /// Signs `login` in through a fresh browser for `client_id` and exchanges the code;
    /// returns the token response.
    pub async fn tokens_as(
        &self,
        client_id: &str,
        secret: &str,
        login: &str,
        password: &str,
    ) -> serde_json::Value {
        self.tokens_with_scope(client_id, secret, login, password, "openid profile email")
            .await
    }

    /// `tokens_as` asking for `scope`.
    pub async fn tokens_with_scope(
        &self,
        client_id: &str,
        secret: &str,
        login: &str,
        password: &str,
        scope: &str,
    ) -> serde_json::Value {
        let browser = TestApp {
            browser: new_browser(),
            ..self.shallow()
        };
        let mut params = browser.authorize_params();
        params[0].1 = client_id.to_owned();
        params[3].1 = scope.to_owned();
        let response = browser
            .sign_in_as(browser.get_authorize(&params).await, login, password)
            .await;
        let q = query_of(&location(&response));
        let code = q
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code: {q:?}"));
        let basic = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));
        let response = self
            .post_form_as(
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", VERIFIER),
                ],
                Some(&basic),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    /// Starts another node on this app's database, as a restart or a second machine
    /// would: the same configuration (issuer, key-encryption key, keys folder) and
    /// clock, `tweak`ed, on a port of its own.
    pub async fn start_node(&self, tweak: impl FnOnce(&mut Config)) -> anyhow::Result<Node> {
        let mut config = (*self.state.config).clone();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        tweak(&mut config);
        let app = App::build_with_clock(config, self.state.clock.clone()).await?;
        let node = Node {
            base: format!("http://127.0.0.1:{}", app.port()),
            state: app.state().clone(),
        };
        tokio::spawn(app.run_until(std::future::pending()));
        Ok(node)
    }

    /// A copy that shares the app but not the browser (no temp dir or database guard).
    fn shallow(&self) -> TestApp {
        TestApp {
            issuer: self.issuer.clone(),
            state: self.state.clone(),
            browser: self.browser.clone(),
            host_id: self.host_id.clone(),
            user_id: self.user_id.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            public_client_id: self.public_client_id.clone(),
            clock: self.clock.clone(),
            metrics_port: self.metrics_port,
            _dir: tempfile::tempdir().expect("temp dir"),
            _database: None,
        }
    }

    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.client_id, self.client_secret))
        )
    }

    /// POSTs a form to the token endpoint with the confidential client's Basic credentials.
    pub async fn post_token(&self, form: &[(&str, &str)]) -> Response {
        self.post_form_as("/token", form, Some(&self.basic())).await
    }

    pub async fn post_form_as(
        &self,
        path: &str,
        form: &[(&str, &str)],
        authorization: Option<&str>,
    ) -> Response {
        let mut request = reqwest::Client::new().post(self.url(path)).form(form);
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        request.send().await.expect("POST")
    }

    /// Exchanges a code from `code()` for tokens.
    pub async fn tokens(&self) -> serde_json::Value {
        let code = self.code().await;
        self.exchange(&code).await
    }

    /// Exchanges a code of a request made with `VERIFIER` for tokens.
    pub async fn exchange(&self, code: &str) -> serde_json::Value {
        let response = self
            .post_token(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    pub async fn introspect(&self, token: &str) -> serde_json::Value {
        let response = self
            .post_form_as("/introspect", &[("token", token)], Some(&self.basic()))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }
}

/// Asserts an RFC 6749 §5.2 error body and returns it.
pub async fn assert_oauth_error(
    response: Response,
    status: StatusCode,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: serde_json::Value = response.json().await.expect("json error");
    assert_eq!(body["error"], code, "{body}");
    body
}

/// The management API (`/api/v1`) as one caller sees it.
pub struct Api<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl TestApp {
    /// An access token of `login` (password [`PASSWORD`]) acting in `host_id`, through
    /// the real code flow, by a client bound to that host and allowed `tessera:api`.
    pub async fn api_token(&self, login: &str, host_id: &str, scope: &str) -> String {
        let (client_id, secret) = self.client_for_host(Some(host_id), false).await;
        let tokens = self
            .tokens_with_scope(&client_id, &secret, login, PASSWORD, scope)
            .await;
        tokens["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {tokens}"))
            .to_owned()
    }

    /// The API called with `login`'s `tessera:api` token in `host_id`.
    pub async fn api_as(&self, login: &str, host_id: &str) -> Api<'_> {
        let token = self.api_token(login, host_id, "openid tessera:api").await;
        self.api(Some(token))
    }

    /// The API called with `token` (or none).
    pub fn api(&self, token: Option<String>) -> Api<'_> {
        Api { app: self, token }
    }
}

impl Api<'_> {
    pub async fn get(&self, path: &str) -> Response {
        let mut request = self.app.browser.get(self.app.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("GET /api/v1")
    }

    /// A request with a JSON body (`POST`, `PUT`, `PATCH`, `DELETE`).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Response {
        let mut request = self
            .app
            .browser
            .request(method, self.app.url(path))
            .json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("/api/v1 request")
    }

    #[allow(dead_code)] // for the resources' tests
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: &serde_json::Value) -> Response {
        self.send_json(reqwest::Method::PUT, path, body).await
    }

    #[allow(dead_code)] // for the resources' tests
    pub async fn patch(&self, path: &str, body: &serde_json::Value) -> Response {
        self.send_json(reqwest::Method::PATCH, path, body).await
    }

    /// A request with a raw body and content type, for malformed-input tests.
    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Response {
        let mut request = self
            .app
            .browser
            .request(method, self.app.url(path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.to_owned());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("/api/v1 request")
    }

    #[allow(dead_code)] // for the resources' tests
    pub async fn delete(&self, path: &str) -> Response {
        let mut request = self.app.browser.delete(self.app.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("DELETE /api/v1")
    }

    pub async fn me(&self) -> Response {
        self.get("/api/v1/me").await
    }

    pub async fn users_current(&self) -> Response {
        self.get("/api/v1/users/current").await
    }

    /// `GET /api/v1/users` with a query string (without its `?`).
    pub async fn list_users(&self, query: &str) -> Response {
        self.get(&format!("/api/v1/users?{query}")).await
    }

    pub async fn get_user(&self, id: &str) -> Response {
        self.get(&format!("/api/v1/users/{id}")).await
    }

    pub async fn openapi(&self) -> Response {
        self.get("/api/v1/openapi.json").await
    }
}

/// A scratch directory and a fresh database for running the built `tessera` binary, as
/// an operator would: the CLI tests and the operations tests share it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    _database: Option<PgDatabase>,
}

impl Workspace {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, database) = fresh_database(dir.path()).await;
        Self {
            dir,
            database_url,
            _database: database,
        }
    }

    /// `program args…` in the workspace, with the database, keys folder and
    /// key-encryption key set through the environment, and no standard input.
    pub fn command(&self, program: &str, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TESSERA_DATABASE_URL", &self.database_url)
            .env("TESSERA_KEYS_DIR", self.dir.path().join("keys"))
            .env("TESSERA_KEY_ENCRYPTION_KEY_FILE", new_kek(self.dir.path()))
            .env_remove("TESSERA_TEST_DATABASE_URL")
            .env_remove("TESSERA_LOG")
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// `tessera args…` (the binary this build made).
    pub fn tessera(&self, args: &[&str]) -> std::process::Command {
        self.command(env!("CARGO_BIN_EXE_tessera"), args)
    }
}
