//! The browser side of a sign-in, for any OpenID Provider: follow redirects by hand,
//! keep cookies per virtual user, fill in the forms the provider shows (a form with a
//! password field gets `login` and `password`; one with a `decision` button gets
//! `decision=allow`; hidden fields are sent back), until the redirect URI receives a
//! code; then redeem it at the token endpoint with PKCE and client_secret_basic.
//!
//! `signin` measures full sign-ins (a fresh cookie jar each time, so every one checks
//! a password); `mint` signs in once per virtual user and then repeats the
//! authorization request on the same session, to collect many token responses
//! cheaply; `probe` sends a request at a fixed rate and records its latencies.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use regex::Regex;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use crate::{Args, Summary};

/// What every virtual user needs.
struct Setup {
    http: reqwest::Client,
    authorization_endpoint: String,
    token_endpoint: String,
    client_id: String,
    basic: String,
    redirect_uri: String,
    scope: String,
    prompt: Option<String>,
    password: String,
    form: Regex,
    action: Regex,
    input: Regex,
    attr: Regex,
    /// For error pages: their `<main>`, and the tags and runs of spaces to flatten.
    main: Regex,
    markup: Regex,
}

impl Setup {
    async fn new(args: &Args) -> anyhow::Result<Self> {
        let issuer = args.get("issuer")?.trim_end_matches('/').to_owned();
        let http = client()?;
        let text = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let discovery: serde_json::Value =
            serde_json::from_str(&text).context("discovery document")?;
        let endpoint = |name: &str| -> anyhow::Result<String> {
            discovery[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("discovery has no {name}"))
        };
        let client_id = args.get("client-id")?;
        let secret = args.get("client-secret")?;
        Ok(Self {
            authorization_endpoint: endpoint("authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?,
            basic: format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}"))),
            client_id,
            redirect_uri: args.get("redirect-uri")?,
            scope: args
                .opt("scope")
                .unwrap_or_else(|| "openid profile email offline_access".to_owned()),
            prompt: args.opt("prompt"),
            password: args.get("password")?,
            form: Regex::new(r"(?is)<form\b[^>]*>.*?</form>")?,
            action: Regex::new(r#"(?i)<form\b[^>]*\baction="([^"]*)""#)?,
            input: Regex::new(r"(?i)<(?:input|button)\b[^>]*>")?,
            attr: Regex::new(r#"(?i)\b(type|name|value)="([^"]*)""#)?,
            main: Regex::new(r"(?s)<main[^>]*>(.*?)</main>")?,
            markup: Regex::new(r"<[^>]+>|\s+")?,
            http,
        })
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Cookies by (name, path); enough for one provider on one origin.
#[derive(Default)]
struct Jar {
    cookies: Vec<(String, String, String)>,
}

impl Jar {
    fn store(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, val)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let mut path = "/".to_owned();
            let mut expired = false;
            for attr in parts {
                let attr = attr.trim();
                let lower = attr.to_ascii_lowercase();
                if let Some(p) = lower.strip_prefix("path=") {
                    path = attr[attr.len() - p.len()..].to_owned();
                } else if lower == "max-age=0" || lower.starts_with("expires=thu, 01 jan 1970") {
                    expired = true;
                }
            }
            self.cookies.retain(|(n, p, _)| !(n == name && *p == path));
            if !expired && !val.is_empty() {
                self.cookies.push((name.to_owned(), path, val.to_owned()));
            }
        }
    }

    fn header(&self, path: &str) -> Option<String> {
        let parts: Vec<String> = self
            .cookies
            .iter()
            .filter(|(_, p, _)| path.starts_with(p.as_str()))
            .map(|(n, _, v)| format!("{n}={v}"))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

fn random_b64(bytes: usize) -> String {
    let data: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(data)
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn encode(pairs: &[(String, String)]) -> String {
    let mut ser = reqwest::Url::parse("x:/").expect("static URL");
    ser.query_pairs_mut().extend_pairs(pairs);
    ser.query().unwrap_or_default().to_owned()
}

/// One pass of the authorization code flow on `jar`'s session; the token response.
async fn sign_in(
    s: &Setup,
    jar: &mut Jar,
    login: &str,
    requests: &AtomicU64,
) -> anyhow::Result<serde_json::Value> {
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_b64(12);
    let mut params = vec![
        ("client_id".into(), s.client_id.clone()),
        ("response_type".into(), "code".into()),
        ("scope".into(), s.scope.clone()),
        ("redirect_uri".into(), s.redirect_uri.clone()),
        ("state".into(), state.clone()),
        ("nonce".into(), random_b64(12)),
        ("code_challenge".into(), challenge),
        ("code_challenge_method".into(), "S256".into()),
    ];
    if let Some(prompt) = &s.prompt {
        params.push(("prompt".into(), prompt.clone()));
    }
    let query = encode(&params);
    let mut url = format!("{}?{query}", s.authorization_endpoint);
    let mut method = Method::GET;
    let mut body: Option<String> = None;
    let mut code = None;
    // The steps so far, for error messages: "GET /authorize → 303".
    let mut trail: Vec<String> = Vec::new();
    for _ in 0..16 {
        let parsed = reqwest::Url::parse(&url).with_context(|| format!("bad URL {url}"))?;
        let mut req = s.http.request(method.clone(), parsed.clone());
        if let Some(c) = jar.header(parsed.path()) {
            req = req.header(COOKIE, c);
        }
        if let Some(b) = body.take() {
            req = req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(b);
        }
        let sent_cookie = jar.header(parsed.path()).is_some();
        let res = req.send().await?;
        requests.fetch_add(1, Ordering::Relaxed);
        jar.store(res.headers());
        let status = res.status();
        trail.push(format!(
            "{method} {}{} → {}{}",
            parsed.path(),
            if sent_cookie { " (cookie)" } else { "" },
            status.as_u16(),
            if res.headers().contains_key(SET_COOKIE) {
                " (set-cookie)"
            } else {
                ""
            }
        ));
        if status.is_redirection() {
            let location = res
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .context("redirect without Location")?
                .to_owned();
            let next = parsed.join(&location)?;
            if next.as_str().starts_with(&s.redirect_uri) {
                let params: std::collections::HashMap<String, String> =
                    next.query_pairs().into_owned().collect();
                if let Some(e) = params.get("error") {
                    bail!(
                        "authorization error {e}: {:?}",
                        params.get("error_description")
                    );
                }
                if params.get("state") != Some(&state) {
                    bail!("state mismatch");
                }
                code = params.get("code").cloned();
                break;
            }
            url = next.to_string();
            method = Method::GET;
            continue;
        }
        let text = res.text().await?;
        if !status.is_success() {
            let message = s
                .main
                .captures(&text)
                .map_or_else(|| text.chars().take(300).collect(), |c| c[1].to_owned());
            let message = s.markup.replace_all(&message, " ").trim().to_owned();
            bail!("{status} at {url}: {message} [steps: {}]", trail.join(", "));
        }
        let Some(form) = s.form.find(&text) else {
            bail!(
                "{status} at {url} without a form: {}",
                &text[..text.len().min(300)]
            );
        };
        let form = form.as_str();
        let action = s
            .action
            .captures(form)
            .map_or(url.clone(), |c| unescape(&c[1]));
        let mut fields = Vec::new();
        let mut has_password = false;
        for tag in s.input.find_iter(form) {
            let (mut kind, mut name, mut value) = (String::new(), String::new(), String::new());
            for c in s.attr.captures_iter(tag.as_str()) {
                match c[1].to_ascii_lowercase().as_str() {
                    "type" => kind = c[2].to_ascii_lowercase(),
                    "name" => name = unescape(&c[2]),
                    _ => value = unescape(&c[2]),
                }
            }
            match kind.as_str() {
                "hidden" => fields.push((name, value)),
                "password" => has_password = true,
                _ if name == "decision" && value == "allow" => fields.push((name, value)),
                _ => {}
            }
        }
        if has_password {
            fields.push(("login".into(), login.to_owned()));
            fields.push(("password".into(), s.password.clone()));
        }
        url = parsed.join(&action)?.to_string();
        method = Method::POST;
        body = Some(encode(&fields));
    }
    let code = code.context("no code after 16 steps")?;
    let res = s
        .http
        .post(&s.token_endpoint)
        .header(AUTHORIZATION, &s.basic)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code),
            ("redirect_uri".into(), s.redirect_uri.clone()),
            ("code_verifier".into(), verifier),
        ]))
        .send()
        .await?;
    requests.fetch_add(1, Ordering::Relaxed);
    let status = res.status();
    let text = res.text().await?;
    if status != StatusCode::OK {
        bail!("token endpoint: {status}: {text}");
    }
    let tokens: serde_json::Value = serde_json::from_str(&text)?;
    if tokens["access_token"].as_str().is_none() {
        bail!("token response without access_token: {text}");
    }
    Ok(tokens)
}

fn logins(args: &Args) -> anyhow::Result<Arc<Vec<String>>> {
    let path = args.get("logins")?;
    let list: Vec<String> = std::fs::read_to_string(&path)
        .with_context(|| path.clone())?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!list.is_empty(), "{path} lists no user");
    Ok(Arc::new(list))
}

/// N virtual users doing full sign-ins (fresh cookies each time) for --duration after
/// --warmup; one RESULT line, rps meaning sign-ins per second.
pub async fn run_signin(args: &Args) -> anyhow::Result<()> {
    let setup = Arc::new(Setup::new(args).await?);
    let users = logins(args)?;
    let concurrency: usize = args.num("concurrency", 16)?;
    let warmup = args.secs("warmup", 2.0)?;
    let duration = args.secs("duration", 10.0)?;
    // Users in turn from a random place: every sign-in is a different user.
    let next = Arc::new(AtomicUsize::new(rand::random::<usize>() % users.len()));
    let requests = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (setup, users, next, requests, first_error) = (
            setup.clone(),
            users.clone(),
            next.clone(),
            requests.clone(),
            first_error.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < end {
                let i = next.fetch_add(1, Ordering::Relaxed) % users.len();
                let mut jar = Jar::default();
                let t0 = Instant::now();
                let result = tokio::time::timeout_at(
                    end.into(),
                    sign_in(&setup, &mut jar, &users[i], &requests),
                )
                .await;
                let t1 = Instant::now();
                match result {
                    Err(_) => break, // the run ended mid-sign-in: not counted
                    Ok(Ok(_)) if t0 >= measure_from => {
                        latencies.push((t1 - t0).as_micros() as u64);
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        if t0 >= measure_from {
                            errors += 1;
                        }
                        {
                            let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                            if first.is_none() {
                                *first = Some(format!("{e:#}"));
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    if let Some(e) = first_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        eprintln!("signin: first error: {e}");
    }
    Summary {
        latencies_us: latencies,
        duration,
        non2xx: errors,
        socket_errors: 0,
    }
    .print(&[
        ("concurrency", concurrency.into()),
        ("http_requests", requests.load(Ordering::Relaxed).into()),
    ]);
    Ok(())
}

/// Signs --concurrency users in (one password check each), then repeats the
/// authorization request on their sessions until --count token responses are
/// collected; writes the --field of each (default refresh_token), one a line, to --out.
pub async fn run_mint(args: &Args) -> anyhow::Result<()> {
    let setup = Arc::new(Setup::new(args).await?);
    let users = logins(args)?;
    let count: usize = args.num("count", 100)?;
    let concurrency: usize = args.num("concurrency", 4)?.min(count.max(1));
    let field = args
        .opt("field")
        .unwrap_or_else(|| "refresh_token".to_owned());
    let out = args.get("out")?;
    let remaining = Arc::new(AtomicUsize::new(count));
    let requests = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for v in 0..concurrency {
        let (setup, users, remaining, requests, field) = (
            setup.clone(),
            users.clone(),
            remaining.clone(),
            requests.clone(),
            field.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut jar = Jar::default();
            let mut got = Vec::new();
            let login = users[v % users.len()].clone();
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
                .is_ok()
            {
                let tokens = sign_in(&setup, &mut jar, &login, &requests).await?;
                let value = tokens[field.as_str()]
                    .as_str()
                    .with_context(|| format!("token response without {field}: {tokens}"))?;
                got.push(value.to_owned());
            }
            anyhow::Ok(got)
        }));
    }
    let mut all = String::new();
    for t in tasks {
        for v in t.await?? {
            all.push_str(&v);
            all.push('\n');
        }
    }
    std::fs::write(&out, all)?;
    eprintln!(
        "mint: {count} {field}s in {} HTTP requests",
        requests.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Open-loop probe: one request every 1/--rate seconds (whatever the answers take)
/// for --duration after --warmup.
pub async fn run_probe(args: &Args) -> anyhow::Result<()> {
    let url = args.get("url")?;
    let rate: f64 = args.num("rate", 50.0)?;
    let warmup = args.secs("warmup", 1.0)?;
    let duration = args.secs("duration", 10.0)?;
    let body = args.opt("body");
    let basic = args
        .opt("basic")
        .map(|b| format!("Basic {}", STANDARD.encode(b)));
    let http = client()?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while Instant::now() < end {
        tick.tick().await;
        let (http, url, body, basic, tx) = (
            http.clone(),
            url.clone(),
            body.clone(),
            basic.clone(),
            tx.clone(),
        );
        tokio::spawn(async move {
            let t0 = Instant::now();
            let mut req = match &body {
                Some(b) => http
                    .post(&url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(b.clone()),
                None => http.get(&url),
            };
            if let Some(b) = &basic {
                req = req.header(AUTHORIZATION, b);
            }
            let outcome = match req.send().await {
                Ok(res) => {
                    let ok = res.status().is_success();
                    let _ = res.bytes().await;
                    if ok {
                        Ok(())
                    } else {
                        Err(false)
                    }
                }
                Err(_) => Err(true),
            };
            let _ = tx.send((t0, t0.elapsed(), outcome));
        });
    }
    drop(tx);
    let (mut latencies, mut non2xx, mut socket) = (Vec::new(), 0, 0);
    while let Some((t0, took, outcome)) = rx.recv().await {
        if t0 < measure_from {
            continue;
        }
        match outcome {
            Ok(()) => latencies.push(took.as_micros() as u64),
            Err(false) => non2xx += 1,
            Err(true) => socket += 1,
        }
    }
    Summary {
        latencies_us: latencies,
        duration,
        non2xx,
        socket_errors: socket,
    }
    .print(&[("rate", rate.into())]);
    Ok(())
}
