//! The README's commands, run as a newcomer would after a fresh clone: every command in
//! its `sh` blocks, in order, with the built binary in place of `cargo run --` (the
//! build itself is left out), in a scratch directory holding only what a checkout
//! brings (`fixtures/`). The server runs on a free port instead of 8080; the
//! placeholders the README names (SECRET, ACCESS_TOKEN) are filled in from earlier
//! answers. A command the test does not know how to run fails it, so a new command in
//! the README is either run here or the test says why not.
//!
//! Always on SQLite, whatever the backend under test: it is what the README documents.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{hidden_field, location, new_browser};

const BINARY: &str = env!("CARGO_BIN_EXE_tessera");

/// The commands of the README's `sh` blocks: comments dropped, `\` continuations joined.
fn documented_commands() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let mut commands = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_block = trimmed == "```sh";
            continue;
        }
        if !in_block || trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        // A trailing comment (`cmd   # what it does`) is not part of the command.
        let code = trimmed.split("  #").next().unwrap_or_default().trim_end();
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(code);
        commands.push(std::mem::take(&mut pending));
    }
    commands
}

/// A child process whose standard output lines arrive on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `text`; returns it.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {text:?}; output so far: {:#?}", self.seen),
            }
        }
    }

    /// The value of the first `name   = value` line seen so far.
    fn value(&self, name: &str) -> String {
        self.seen
            .iter()
            .filter(|l| l.trim_start().starts_with(name))
            .find_map(|l| l.split_once(" = ").map(|(_, v)| v.trim()))
            .unwrap_or_else(|| panic!("no {name} in {:#?}", self.seen))
            .to_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scratch directory's environment: no `TESSERA_*` variable of the test run's
/// leaks in, and the server is on a free port rather than 8080.
fn command(dir: &std::path::Path, base: &str, program: &str) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    let address = base.trim_start_matches("http://");
    command
        .env("TESSERA_LISTEN", address)
        .env("TESSERA_ISSUER", base);
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn the_readme_commands_work_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seed-example.yaml"),
        fixtures.join("seed-example.yaml"),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", free_port());
    let mut server: Option<Running> = None;
    let mut access_token = String::new();
    let mut ran = Vec::new();
    for documented in documented_commands() {
        let shell = documented.replace("cargo run -- ", &format!("{BINARY} "));
        match documented.as_str() {
            "cargo run -- serve --dev" => {
                let mut cmd = command(dir.path(), &base, BINARY);
                cmd.args(["serve", "--dev"]);
                let mut running = Running::spawn(cmd);
                running.wait_for("Discovery:");
                server = Some(running);
            }
            // The suite itself (this test is part of it): it must be there to run.
            "scripts/test.sh" => {
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test.sh");
                assert!(std::path::Path::new(script).is_file());
            }
            "cargo run -- demo login" => {
                let server = server.as_ref().expect("the server runs first");
                demo_login(dir.path(), &base, server).await;
            }
            _ if documented.starts_with("curl ") => {
                let server = server.as_ref().expect("the server runs first");
                let shell = shell
                    .replace("http://127.0.0.1:8080", &base)
                    .replace("SECRET", &server.value("client_secret"))
                    .replace("ACCESS_TOKEN", &access_token);
                let answer = run_shell(dir.path(), &base, &shell);
                let json: serde_json::Value = serde_json::from_str(&answer)
                    .unwrap_or_else(|e| panic!("{documented}: {e}: {answer}"));
                assert!(json.get("error").is_none(), "{documented}: {json}");
                if let Some(token) = json.get("access_token").and_then(|t| t.as_str()) {
                    access_token = token.to_owned();
                }
                if documented.contains("/introspect") {
                    assert_eq!(json["active"], true, "{json}");
                }
            }
            _ if documented.starts_with("cargo run -- ") => {
                let out = run_shell(dir.path(), &base, &shell);
                assert!(!out.is_empty(), "{documented} printed nothing");
            }
            other => panic!("the README documents a command this test cannot run: {other}"),
        }
        ran.push(documented);
    }
    for expected in ["cargo run -- serve --dev", "cargo run -- demo login"] {
        assert!(
            ran.iter().any(|c| c == expected),
            "{expected} not in {ran:?}"
        );
    }
}

fn run_shell(dir: &std::path::Path, base: &str, shell: &str) -> String {
    let out = command(dir, base, "sh")
        .args(["-c", shell])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{shell} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `tessera demo login` (without opening a browser) and plays the browser: signs
/// in as the demo employee, allows, and lands on its callback; then checks the claims
/// it prints.
async fn demo_login(dir: &std::path::Path, base: &str, server: &Running) {
    let mut cmd = command(dir, base, BINARY);
    cmd.args(["demo", "login", "--no-browser"]);
    let mut demo = Running::spawn(cmd);
    let url = demo.wait_for("/authorize?").trim().to_owned();
    let browser = new_browser();
    let mut response = browser.get(&url).send().await.unwrap();
    let password = server.value("password");
    for _ in 0..8 {
        if response.status().is_redirection() {
            let to = location(&response);
            let to = if to.starts_with('/') {
                format!("{base}{to}")
            } else {
                to
            };
            if to.starts_with("http://127.0.0.1:8081/callback") {
                // The demo's own listener answers the browser.
                let done = reqwest::get(&to).await.unwrap();
                assert_eq!(done.status(), StatusCode::OK);
                break;
            }
            response = browser.get(&to).send().await.unwrap();
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK);
        let page = response.url().path().to_owned();
        let html = response.text().await.unwrap();
        let csrf = hidden_field(&html, "csrf").expect("csrf");
        let request_id = hidden_field(&html, "request_id").unwrap_or_default();
        let form: Vec<(&str, &str)> = match page.as_str() {
            "/login" => vec![
                ("csrf", &csrf),
                ("request_id", &request_id),
                ("login", tessera::demo::DEMO_EMPLOYEE),
                ("password", &password),
            ],
            "/consent" => vec![
                ("csrf", &csrf),
                ("request_id", &request_id),
                ("decision", "allow"),
            ],
            other => panic!("unexpected page {other}: {html}"),
        };
        response = browser
            .post(format!("{base}{page}"))
            .form(&form)
            .send()
            .await
            .unwrap();
    }
    demo.wait_for("id_token:");
    let status = demo.child.wait().unwrap();
    assert!(status.success(), "demo login failed: {:#?}", demo.seen);
    let printed = demo.seen.join("\n");
    // The first token a newcomer decodes carries the whole security profile.
    for claim in [
        r#""uid": "E1001""#,
        r#""host": "demo""#,
        r#""role": "admin user""#,
        r#""grp": "platform""#,
        r#""pos": "PlatformLead""#,
        r#""att": "clearance^=^2~country^=^CAN""#,
    ] {
        assert!(printed.contains(claim), "{claim} not in {printed}");
    }
}
