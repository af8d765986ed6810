//! `tessera demo login`: a tiny relying party for development mode's demo data, so a
//! first sign-in needs no copying of codes by hand (they live 60 s). It plays a native
//! app (RFC 8252): a public client with PKCE (RFC 7636, S256) that listens on a
//! loopback port for the redirect (§7.3), exchanges the code and prints the tokens'
//! claims. It speaks plain HTTP, so it talks to a local development server only.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::Subcommand;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::demo::{DEMO_CALLBACK_PORT, DEMO_CLI_CLIENT_ID};
use crate::domain::secret::random_id;
use crate::domain::Secret;
use crate::oauth::pkce::s256_challenge;

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Sign in to a development server (`tessera serve --dev`) as the demo client:
    /// open the sign-in page in the browser, receive the code on a loopback port,
    /// exchange it with PKCE and print the decoded tokens.
    Login {
        /// The server (default: the configured issuer, or http://LISTEN).
        #[arg(long)]
        issuer: Option<String>,
        /// The client to play: a public client whose redirect URI is
        /// http://127.0.0.1:PORT/callback.
        #[arg(long, default_value = DEMO_CLI_CLIENT_ID)]
        client_id: String,
        /// The loopback port to receive the code on (the client's redirect URI's).
        #[arg(long, default_value_t = DEMO_CALLBACK_PORT)]
        port: u16,
        /// The scopes to ask for.
        #[arg(long, default_value = "openid profile email")]
        scope: String,
        /// Print the sign-in address only; do not open a browser.
        #[arg(long)]
        no_browser: bool,
    },
}

pub async fn run(config: &Config, cmd: DemoCommand) -> anyhow::Result<()> {
    let DemoCommand::Login {
        issuer,
        client_id,
        port,
        scope,
        no_browser,
    } = cmd;
    let issuer = issuer.unwrap_or_else(|| {
        if config.issuer.is_empty() {
            format!("http://{}", config.listen)
        } else {
            config.issuer_base().to_owned()
        }
    });
    let issuer = issuer.trim_end_matches('/');
    anyhow::ensure!(
        issuer.starts_with("http://"),
        "demo login speaks plain HTTP to a development server; {issuer} is not one"
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port} for the code: {e}"))?;
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let verifier = Secret::generate();
    let state = random_id();
    let mut url = url::Url::parse(&format!("{issuer}/authorize"))?;
    url.query_pairs_mut()
        .append_pair("client_id", &client_id)
        .append_pair("response_type", "code")
        .append_pair("scope", &scope)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("state", &state)
        .append_pair("nonce", &random_id())
        .append_pair("code_challenge", &s256_challenge(verifier.expose()))
        .append_pair("code_challenge_method", "S256");
    out!("Sign in at (the demo users are printed by `tessera serve --dev`):")?;
    out!("  {url}")?;
    if !no_browser {
        open_browser(url.as_str());
    }
    let query = receive_callback(listener).await?;
    anyhow::ensure!(
        query.get("state") == Some(&state),
        "the answer's state does not match the request's"
    );
    if let Some(error) = query.get("error") {
        let description = query.get("error_description").map_or("", String::as_str);
        anyhow::bail!("the server answered {error}: {description}");
    }
    let code = query
        .get("code")
        .ok_or_else(|| anyhow::anyhow!("the answer holds no code"))?;
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &redirect_uri),
        ("client_id", &client_id),
        ("code_verifier", verifier.expose()),
    ])?;
    let tokens = post_form(&format!("{issuer}/token"), form).await?;
    print_tokens(&tokens)
}

/// Opens the system's browser: `open` on macOS, `xdg-open` elsewhere. A failure only
/// means the address must be opened by hand; it is printed already.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(program)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Serves the redirect URI until the browser arrives with the answer (or 5 minutes
/// pass), and returns its query.
async fn receive_callback(
    listener: tokio::net::TcpListener,
) -> anyhow::Result<HashMap<String, String>> {
    let (send, mut answers) = mpsc::channel::<HashMap<String, String>>(1);
    let app = axum::Router::new()
        .route("/callback", get(callback))
        .with_state(send);
    let server = tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
        listener, app,
    )));
    let answer = tokio::time::timeout(Duration::from_secs(300), answers.recv()).await;
    server.abort();
    answer
        .map_err(|_| anyhow::anyhow!("no sign-in arrived within 5 minutes"))?
        .ok_or_else(|| anyhow::anyhow!("the callback listener stopped"))
}

async fn callback(
    State(send): State<mpsc::Sender<HashMap<String, String>>>,
    Query(query): Query<HashMap<String, String>>,
) -> &'static str {
    let _ = send.send(query).await;
    "Tessera demo login: done. The tokens are in your terminal; you can close this tab."
}

/// POSTs a form over HTTP/1.1 (hyper's client connection, already in the build) and
/// returns the JSON answer.
async fn post_form(url: &str, form: String) -> anyhow::Result<serde_json::Value> {
    let parsed = url::Url::parse(url)?;
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port_or_known_default().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = axum::http::Request::post(parsed.path())
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 1 << 20).await?;
    let json: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| anyhow::anyhow!("the token endpoint answered {status}, not JSON: {e}"))?;
    anyhow::ensure!(
        status.is_success(),
        "the token endpoint answered {status}: {json}"
    );
    Ok(json)
}

fn print_tokens(tokens: &serde_json::Value) -> anyhow::Result<()> {
    for (field, title) in [("access_token", "Access token"), ("id_token", "ID token")] {
        let Some(jwt) = tokens.get(field).and_then(serde_json::Value::as_str) else {
            continue;
        };
        out!("{title} (claims decoded, not verified; APIs verify it against /jwks):")?;
        out!("{}", serde_json::to_string_pretty(&claims(jwt)?)?)?;
        out!("{field}: {jwt}")?;
    }
    if tokens.get("refresh_token").is_some() {
        out!("A refresh token came too (scope offline_access).")?;
    }
    Ok(())
}

/// A JWT's payload, decoded.
fn claims(jwt: &str) -> anyhow::Result<serde_json::Value> {
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("the token is not a JWT"))?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}
