//! What an operator sees: request ids, log lines, the command line in a pipe, and the
//! server under a low open-files limit (docs/operations.md).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{spawn_app, Workspace};

/// Kills the server it holds when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_error_page_shows_the_request_id_of_its_response() {
    let app = spawn_app().await;
    let response = app
        .browser
        .get(app.url("/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("Reference: <code>{id}</code>")),
        "{html}"
    );
}

#[tokio::test]
async fn a_plain_incoming_request_id_is_kept_and_any_other_replaced() {
    let app = spawn_app().await;
    let id_for = |incoming: &'static str| {
        let request = app
            .browser
            .get(app.url("/healthz"))
            .header("x-request-id", incoming);
        async move {
            let response = request.send().await.unwrap();
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(id_for("lb-7f3a.42").await, "lb-7f3a.42");
    let replaced = id_for("<script>alert(1)</script>").await;
    assert_eq!(replaced.len(), 36, "{replaced}");
    let machine = app.browser.get(app.url("/jwks")).send().await.unwrap();
    assert!(
        machine.headers().contains_key("x-request-id"),
        "every route"
    );
}

#[tokio::test]
async fn a_closed_pipe_ends_the_command_line_quietly() {
    let binary = Workspace::new().await;
    let out = binary.tessera(&["keys", "generate"]).output().unwrap();
    assert!(out.status.success());
    // `tessera keys list | head -0`: the reader is gone before the first line.
    let mut child = binary
        .tessera(&["keys", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Starts `tessera serve` (through `prlimit` with `nofile` when given) with logs in
/// `format`, and returns it with its address and its log lines up to "listening on".
async fn serve(
    binary: &Workspace,
    format: &str,
    nofile: Option<&str>,
) -> (Server, String, Vec<String>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        binary.dir.path().join("tessera.toml"),
        format!(
            "issuer = \"http://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\ndev = true\n"
        ),
    )
    .unwrap();
    let tessera = env!("CARGO_BIN_EXE_tessera");
    let mut command = match nofile {
        Some(limit) => binary.command("prlimit", &[&format!("--nofile={limit}"), tessera, "serve"]),
        None => binary.tessera(&["serve"]),
    };
    let mut child = command
        .env("TESSERA_LOG__FORMAT", format)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    // The log is read to its end, so that the server never writes into a closed pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            lines.push(line);
            if lines.last().is_some_and(|l| l.contains("listening on")) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(std::mem::take(&mut lines));
                }
            }
        }
    });
    let lines = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("the server says it listens");
    (server, format!("127.0.0.1:{port}"), lines)
}

#[tokio::test]
async fn logs_carry_no_colour_codes_when_standard_error_is_not_a_terminal() {
    let binary = Workspace::new().await;
    let (_server, _, lines) = serve(&binary, "text", None).await;
    for line in &lines {
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let binary = Workspace::new().await;
    let (_server, _, lines) = serve(&binary, "json", None).await;
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
        assert!(value["fields"].is_object(), "{line}");
    }
}

/// A thousand idle clients against a service started at the common 1024 open-files
/// limit used to shut out everyone; here the server is started at 200 (with
/// `prlimit`), raises its limit, and answers beside 250 idle connections.
#[tokio::test]
async fn a_server_started_under_a_low_file_limit_still_answers_beside_idle_connections() {
    let binary = Workspace::new().await;
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .maximum
        .map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    let (_server, address, _) = serve(&binary, "text", Some(&format!("200:{hard}"))).await;
    let mut idle = Vec::new();
    for _ in 0..250 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        reqwest::get(format!("http://{address}/healthz")),
    )
    .await
    .expect("answered beside the idle connections")
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
