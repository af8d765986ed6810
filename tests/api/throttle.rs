//! Brute-force throttling of sign-ins (docs/brute-force.md): per login, per client
//! address and per known device, before any hash or directory bind; and directory
//! refusals that take as long for unknown logins as for wrong passwords.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use tessera::authn::directory::{Directory, DirectorySettings};
use tessera::config::Config;
use tessera::domain::throttle::{Party, Policy};

use crate::directory::{ad, env, openldap, AD_HOST};
use crate::helpers::{
    hidden_field, location, new_browser, spawn_app_with, TestApp, EMAIL, PASSWORD,
};

/// Three free failures, then a minute's wait: long enough that a slow machine never
/// sees it end by itself.
fn strict(config: &mut Config) {
    config.throttle.account = Policy {
        free_attempts: 3,
        base_delay: 60,
        max_delay: 60,
        ..Policy::account()
    };
}

async fn strict_app() -> TestApp {
    spawn_app_with(strict).await
}

/// One sign-in through the login form of `browser` for `client_id`, with `prompt=login`
/// so that a session the browser has never skips the form.
async fn attempt_in(
    app: &TestApp,
    browser: &reqwest::Client,
    client_id: &str,
    login: &str,
    password: &str,
) -> Response {
    let mut params = app.authorize_params();
    params[0].1 = client_id.to_owned();
    params.push(("prompt", "login".into()));
    let authorize = browser
        .get(app.url("/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    let to = location(&authorize);
    let to = if to.starts_with('/') {
        app.url(&to)
    } else {
        to
    };
    let page = browser.get(to).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let form = [
        ("csrf", hidden_field(&html, "csrf").unwrap()),
        ("request_id", hidden_field(&html, "request_id").unwrap()),
        ("login", login.to_owned()),
        ("password", password.to_owned()),
    ];
    browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A sign-in from a fresh browser (a stranger's, or a new device).
async fn attempt(app: &TestApp, login: &str, password: &str) -> Response {
    attempt_in(app, &new_browser(), &app.client_id, login, password).await
}

/// What a person sees of an answer: the status, the Retry-After and the alert.
async fn seen(response: Response) -> (StatusCode, Option<i64>, String) {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let html = response.text().await.unwrap();
    let alert = html
        .split("role=\"alert\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .to_owned();
    (status, retry_after, alert)
}

/// Runs the `tessera` binary on the app's database, as an operator would.
fn tessera(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &app.state.config.database_url)
        .env_remove("TESSERA_TEST_DATABASE_URL")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

fn signed_in(response: &Response) -> bool {
    response.status() == StatusCode::SEE_OTHER || response.status() == StatusCode::FOUND
}

async fn lock(app: &TestApp, login: &str) {
    for _ in 0..3 {
        let response = attempt(app, login, "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn many_wrong_passwords_lock_the_login_until_the_wait_is_over() {
    let app = strict_app().await;
    lock(&app, EMAIL).await;
    let (status, retry_after, alert) = seen(attempt(&app, EMAIL, "wrong password").await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(alert.contains("Too many failed sign-ins"), "{alert}");
    assert!(matches!(retry_after, Some(1..=60)), "{retry_after:?}");
    // The right password does not get through while the login waits.
    let (status, retry_after, _) = seen(attempt(&app, EMAIL, PASSWORD).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after.is_some());
    // Other spellings of a login count as the same login.
    let (status, _, _) = seen(attempt(&app, " ALICE@example.com", PASSWORD).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(61);
    let response = attempt(&app, EMAIL, PASSWORD).await;
    assert!(signed_in(&response), "{}", response.status());
}

#[tokio::test]
async fn an_unknown_login_gets_the_same_answers_as_a_real_one() {
    let app = strict_app().await;
    let mut answers = Vec::new();
    for login in [EMAIL, "nobody@example.com"] {
        let mut seen_here = Vec::new();
        for _ in 0..5 {
            seen_here.push(seen(attempt(&app, login, "wrong password").await).await);
        }
        answers.push(seen_here);
    }
    let statuses: Vec<_> = answers[0].iter().map(|a| a.0).collect();
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429].map(|s| StatusCode::from_u16(s).unwrap())
    );
    for (real, unknown) in answers[0].iter().zip(&answers[1]) {
        assert_eq!(real.0, unknown.0);
        assert_eq!(real.2, unknown.2, "the same words");
        assert_eq!(real.1.is_some(), unknown.1.is_some());
    }
}

#[tokio::test]
async fn a_known_device_signs_in_at_once_while_strangers_lock_the_login() {
    let app = strict_app().await;
    let device = new_browser();
    let first = attempt_in(&app, &device, &app.client_id, EMAIL, PASSWORD).await;
    assert!(signed_in(&first));
    assert!(
        first
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("tessera_device=")),
        "a sign-in makes the browser a known device"
    );
    lock(&app, EMAIL).await;
    assert_eq!(
        attempt(&app, EMAIL, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a new device waits"
    );
    let response = attempt_in(&app, &device, &app.client_id, EMAIL, PASSWORD).await;
    assert!(signed_in(&response), "{}", response.status());
    assert!(
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("tessera_device=")),
        "a device known for long enough is not written again"
    );
    // The device's own failures count on the device: after its free ones it waits too.
    for _ in 0..3 {
        let r = attempt_in(&app, &device, &app.client_id, EMAIL, "wrong").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = attempt_in(&app, &device, &app.client_id, EMAIL, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_cli_unlock_ends_a_lockout_at_once() {
    let app = strict_app().await;
    lock(&app, "alice").await;
    assert_eq!(
        attempt(&app, "alice", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let out = tessera(&app, &["user", "unlock", EMAIL]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Unlocked alice@example.com"));
    // Unlocking by email cleared the username the guesses used.
    let response = attempt(&app, "alice", PASSWORD).await;
    assert!(signed_in(&response), "{}", response.status());
}

#[tokio::test]
async fn one_address_guessing_across_many_accounts_is_throttled() {
    let app = spawn_app_with(|c| {
        c.throttle.address = Policy {
            free_attempts: 4,
            base_delay: 60,
            max_delay: 60,
            ..Policy::address()
        };
    })
    .await;
    for i in 0..4 {
        let r = attempt(&app, &format!("user{i}@example.com"), "guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // A fifth login, and even the right password of a real one, from the same address.
    let (status, retry_after, _) = seen(attempt(&app, "user9@example.com", "guess").await).await;
    assert_eq!(
        (status, retry_after.is_some()),
        (StatusCode::TOO_MANY_REQUESTS, true)
    );
    assert_eq!(
        attempt(&app, EMAIL, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_count() {
    let app = spawn_app_with(|c| {
        c.throttle.trusted_proxies = vec!["127.0.0.1".into()];
        c.throttle.address = Policy {
            free_attempts: 2,
            base_delay: 60,
            max_delay: 60,
            ..Policy::address()
        };
    })
    .await;
    let from = |ip: &'static str| {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(
                [("x-forwarded-for".parse().unwrap(), ip.parse().unwrap())]
                    .into_iter()
                    .collect(),
            )
            .build()
            .unwrap()
    };
    for i in 0..2 {
        let r = attempt_in(
            &app,
            &from("203.0.113.7"),
            &app.client_id,
            &format!("u{i}"),
            "x",
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = attempt_in(&app, &from("203.0.113.7"), &app.client_id, "u3", "x").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let r = attempt_in(&app, &from("198.51.100.8"), &app.client_id, EMAIL, PASSWORD).await;
    assert!(
        signed_in(&r),
        "another client behind the proxy: {}",
        r.status()
    );
}

#[tokio::test]
async fn a_host_can_have_its_own_account_policy() {
    let app = strict_app().await;
    let (bound, _) = app.client_for_host(Some(&app.host_id), false).await;
    let refused = tessera(
        &app,
        &["host", "throttle", &app.host_id, "--reset-after", "0"],
    );
    assert!(!refused.status.success(), "an unusable policy is refused");
    let out = tessera(
        &app,
        &["host", "throttle", &app.host_id, "--free-attempts", "1"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = attempt_in(&app, &new_browser(), &bound, EMAIL, "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = attempt_in(&app, &new_browser(), &bound, EMAIL, "wrong").await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one free failure on this host, three elsewhere"
    );
}

#[tokio::test]
async fn forgotten_counters_are_purged() {
    let app = strict_app().await;
    let store = &app.state.store;
    let now = app.state.now();
    let party = Party::Account("someone".into());
    store
        .record_failures(&[(party.clone(), 10)], now)
        .await
        .unwrap();
    store
        .record_failures(&[(party.clone(), 10)], now)
        .await
        .unwrap();
    let counters = store
        .throttle_counters(std::slice::from_ref(&party), now)
        .await
        .unwrap();
    assert_eq!(counters[0].1.failures, 2);
    assert_eq!(store.purge_throttle(now + 9).await.unwrap(), 0);
    assert_eq!(store.purge_throttle(now + 10).await.unwrap(), 1);
    assert!(store
        .throttle_counters(&[party], now)
        .await
        .unwrap()
        .is_empty());
}

/// A TCP relay that counts the connections made through it: Tessera binds as a user
/// on a connection of its own, so past the pooled service connection every connection
/// is a bind.
async fn counting_relay(target: &str) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let target = target.to_owned();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (format!("ldaps://127.0.0.1:{port}"), count)
}

#[tokio::test]
async fn directory_sign_ins_are_throttled_before_the_bind() {
    let Some(env) = env() else { return };
    let target = env.ad_url.trim_start_matches("ldaps://").to_owned();
    let (url, connections) = counting_relay(&target).await;
    let settings = ad(&env, vec![url]);
    let app = spawn_app_with(move |c| {
        strict(c);
        c.directories = vec![settings];
    })
    .await;
    let (client, _) = app.client_for_host(Some("corp"), false).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = attempt_in(&app, &new_browser(), &client, "alice", "wrong password").await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429, 429, 429]);
    // One service connection and three binds; the throttled five never reached AD.
    let made = connections.load(Ordering::SeqCst);
    assert!((4..=5).contains(&made), "{made} connections");
    // The right password waits too: the throttle does not ask the directory.
    let r = attempt_in(&app, &new_browser(), &client, "alice", &env.password).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(connections.load(Ordering::SeqCst), made);
    let _ = AD_HOST;
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Median refusal times of a known login with a wrong password and of an unknown login,
/// tried in turn so that both see the same load.
async fn refusal_times(settings: DirectorySettings) -> (Duration, Duration) {
    let directory = Directory::new(settings).unwrap();
    // Warm up: the service connection, and the first refused binds to measure.
    for _ in 0..3 {
        directory
            .authenticate("alice", "wrong password")
            .await
            .unwrap_err();
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..9 {
        let started = Instant::now();
        directory
            .authenticate("alice", "wrong password")
            .await
            .unwrap_err();
        known.push(started.elapsed());
        let started = Instant::now();
        let login = format!("nobody-{i}");
        directory
            .authenticate(&login, "wrong password")
            .await
            .unwrap_err();
        unknown.push(started.elapsed());
    }
    (median(known), median(unknown))
}

#[tokio::test]
async fn an_unknown_directory_login_is_refused_as_slowly_as_a_wrong_password() {
    let Some(env) = env() else { return };
    let mut plain = openldap(&env, vec![env.ldap_url.clone()]);
    plain.allow_plain = true;
    for settings in [ad(&env, vec![env.ad_url.clone()]), plain] {
        let kind = format!("{:?}", settings.kind);
        let (known, unknown) = refusal_times(settings).await;
        // Before the fix an unknown login took a tenth of the time (no bind at all). The
        // bounds leave room for a loaded machine, not for a missing bind.
        assert!(
            unknown * 10 >= known * 7 && unknown <= known * 2 + Duration::from_millis(20),
            "{kind}: known {known:?}, unknown {unknown:?}"
        );
    }
}
