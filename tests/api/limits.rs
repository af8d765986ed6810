//! Connection limits: what a client that connects and then sends nothing, or too
//! little, costs the server (docs/operations.md).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app_with, TestApp};

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.issuer.trim_start_matches("http://");
    TcpStream::connect(address).await.unwrap()
}

/// Reads until the server closes the connection; returns what it sent and how long
/// that took.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_connection_that_never_completes_its_headers_is_closed_after_the_header_read_timeout() {
    let app = spawn_app_with(|c| c.server.header_read_timeout = 1).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(800), "closed after {took:?}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let app = spawn_app_with(|c| c.server.header_read_timeout = 1).await;
    let mut stream = connect(&app).await;
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(received.is_empty(), "{received}");
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let app = spawn_app_with(|c| {
        c.server.header_read_timeout = 30;
        c.server.keep_alive_timeout = 1;
    })
    .await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (received, took) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(took >= Duration::from_millis(800), "closed after {took:?}");
}

#[tokio::test]
async fn a_kept_alive_connection_serves_requests_that_come_in_time() {
    let app = spawn_app_with(|c| c.server.keep_alive_timeout = 2).await;
    let mut stream = connect(&app).await;
    for _ in 0..3 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_request_whose_body_does_not_arrive_in_time_gets_408() {
    let app = spawn_app_with(|c| c.server.request_timeout = 1).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=",
        )
        .await
        .unwrap();
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
}

#[tokio::test]
async fn many_idle_connections_leave_room_for_a_legitimate_request() {
    let app = spawn_app_with(|_| {}).await;
    let mut idle = Vec::new();
    for i in 0..300 {
        let mut stream = connect(&app).await;
        if i % 2 == 0 {
            stream.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        }
        idle.push(stream);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        app.browser.get(app.url("/healthz")).send(),
    )
    .await
    .expect("answered in time")
    .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn over_the_connection_cap_a_client_waits_for_an_idle_connection_to_time_out() {
    let app = spawn_app_with(|c| {
        c.server.max_connections = 20;
        c.server.header_read_timeout = 1;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(connect(&app).await);
    }
    // Let the server take them all before the legitimate client comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        app.browser.get(app.url("/healthz")).send(),
    )
    .await
    .expect("answered once a slot freed")
    .unwrap();
    assert_eq!(response.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500),
        "served after {waited:?}, beside 20 open connections"
    );
}
