//! Bare axum 0.8 handlers, the ceilings Tessera's endpoints are compared with:
//!
//!   GET  /static        static bytes (the file given by --static-file: the discovery
//!                       document Tessera serves, so the body is the same size)
//!   POST /sign/rs256    sign a JWT per request (josekit, RSA 2048), like a token response
//!   POST /sign/es256    the same with P-256
//!   POST /verify        verify the RS256 JWT in the form field `token` and answer its
//!                       claims, like an introspection without a database
//!
//! `--verify-jwks FILE --verify-token FILE`: /verify checks tokens with the key of that
//! JWKS that signed the token (run.sh gives Tessera's JWKS and the access token its
//! introspection case sends, so both verify the same signature and read the same
//! claims). Without them, /verify checks tokens signed with a key of its own, and
//! `--token-out FILE` receives one.

use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use josekit::jwk::Jwk;
use josekit::jws::alg::ecdsa::EcdsaJwsSigner;
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::{JwsSigner, RS256};
use josekit::jwt;

use crate::limits::{es256_signer, rs256_signer, sign};
use crate::Args;

struct Bare {
    body: Bytes,
    rs: RsassaJwsSigner,
    rs_verifier: RsassaJwsVerifier,
    es: EcdsaJwsSigner,
}

type Shared = State<Arc<Bare>>;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let listen = args.get("listen")?;
    let body = match args.opt("static-file") {
        Some(path) => Bytes::from(std::fs::read(&path)?),
        None => Bytes::from_static(b"{\"issuer\":\"http://127.0.0.1\"}"),
    };
    let (rs, own_verifier) = rs256_signer()?;
    let es = es256_signer()?;
    if let Some(path) = args.opt("token-out") {
        std::fs::write(path, sign(&rs, "bare-rs256")?)?;
    }
    let rs_verifier = match (args.opt("verify-jwks"), args.opt("verify-token")) {
        (Some(jwks), Some(token)) => verifier_for(&jwks, &token)?,
        (None, None) => own_verifier,
        _ => anyhow::bail!("--verify-jwks and --verify-token go together"),
    };
    let state = Arc::new(Bare {
        body,
        rs,
        rs_verifier,
        es,
    });
    let app = Router::new()
        .route("/static", get(static_bytes))
        .route("/sign/rs256", post(sign_rs256))
        .route("/sign/es256", post(sign_es256))
        .route("/verify", post(verify))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("bare handlers on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// The RS256 verifier of the key in the JWKS file `jwks` that signed the token in the
/// file `token` (its header's `kid`).
fn verifier_for(jwks: &str, token: &str) -> anyhow::Result<RsassaJwsVerifier> {
    let token = std::fs::read_to_string(token).with_context(|| token.to_owned())?;
    let header = token
        .trim()
        .split('.')
        .next()
        .context("the token is not a JWS")?;
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?;
    let kid = header["kid"]
        .as_str()
        .context("the token's header has no kid")?;
    let set: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(jwks).with_context(|| jwks.to_owned())?)?;
    let key = set["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"].as_str() == Some(kid)))
        .and_then(serde_json::Value::as_object)
        .with_context(|| format!("no key {kid} in {jwks}"))?;
    let jwk = Jwk::from_map(key.clone())?;
    Ok(RS256.verifier_from_jwk(&jwk)?)
}

async fn static_bytes(State(s): Shared) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], s.body.clone()).into_response()
}

fn token_response(signer: &dyn JwsSigner, kid: &str) -> Response {
    match sign(signer, kid) {
        Ok(token) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            format!(
                "{{\"access_token\":\"{token}\",\"token_type\":\"Bearer\",\"expires_in\":3600}}"
            ),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn sign_rs256(State(s): Shared, _body: Bytes) -> Response {
    token_response(&s.rs, "bare-rs256")
}

async fn sign_es256(State(s): Shared, _body: Bytes) -> Response {
    token_response(&s.es, "bare-es256")
}

async fn verify(State(s): Shared, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let token = text
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .unwrap_or_default();
    match jwt::decode_with_verifier(token, &s.rs_verifier) {
        Ok((payload, _)) => {
            let mut claims = payload.claims_set().clone();
            claims.insert("active".into(), true.into());
            (
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::Value::Object(claims).to_string(),
            )
                .into_response()
        }
        Err(_) => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"active\":false}",
        )
            .into_response(),
    }
}
