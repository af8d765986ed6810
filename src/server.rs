//! The public listener's accept loop, on hyper's HTTP/1.1 connection builder rather
//! than `axum::serve`, which sets no limits: a client that connects and sends nothing
//! would hold a connection, and a file descriptor, for ever (axum's `serve-with-hyper`
//! and `graceful-shutdown` examples show the same shape).
//!
//! - **Header-read timeout** (hyper's): a new connection, or a kept-alive one waiting
//!   for its next request, must deliver complete headers within it.
//! - **Keep-alive idle timeout** ([`IdleTimeout`]): a connection that has had a
//!   response and sends nothing more is closed sooner.
//! - **Connection cap**: at most `max_connections` are open. Beyond it the loop stops
//!   accepting, so new clients wait in the kernel's listen backlog until a connection
//!   closes (the timeouts above guarantee one will), instead of being accepted and
//!   closed at once: a legitimate client then gets a slow answer rather than a reset,
//!   and the process never runs out of file descriptors for its database, directory
//!   and key files.
//! - **Request timeout** is a tower layer on the router (`http::router`).
//!
//! HTTP/2 is not served: TLS ends at the balancer, which speaks HTTP/1.1 to the node
//! (as before with `axum::serve` without its `http2` feature).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// File descriptors kept back from the connection cap: database pools, directory
/// connections, key files, the metrics listener.
const RESERVED_DESCRIPTORS: u64 = 128;

/// The connection limits, from `[server]`.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// The configured limits, the cap lowered to what the file limit allows.
    #[must_use]
    pub fn new(config: &ServerConfig, open_files: Option<u64>) -> Self {
        let fits = open_files.map_or(usize::MAX, |n| {
            usize::try_from(n.saturating_sub(RESERVED_DESCRIPTORS).max(1)).unwrap_or(usize::MAX)
        });
        Self {
            header_read_timeout: Duration::from_secs(config.header_read_timeout),
            keep_alive_timeout: Duration::from_secs(config.keep_alive_timeout),
            max_connections: config.max_connections.min(fits),
        }
    }
}

/// Raises the soft limit on open files to the hard limit (many distributions start
/// services at 1024, which a thousand idle clients would exhaust) and returns the soft
/// limit now in force, if known.
#[must_use]
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => return limit.maximum,
                Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
            }
        }
        limit.current
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then
/// stops accepting and waits for the requests in flight.
///
/// # Errors
/// None today; the signature leaves room for fatal listener errors.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    on_accept_error(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(IdleTimeout::new(stream, limits.keep_alive_timeout));
        let router = router.clone();
        // Handlers may ask for the client's address (`ConnectInfo<SocketAddr>`), as
        // with `into_make_service_with_connect_info`.
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            metrics.connections_open.inc();
            if let Err(e) = connection.await {
                tracing::debug!(%remote, error = %e, "connection closed with an error");
            }
            metrics.connections_open.dec();
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A failed `accept` is the client's (it hung up before we took it) or the process's
/// (no file descriptor left): the latter would repeat at once, so wait a little.
async fn on_accept_error(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A connection that fails its reads once it has sent a response and then received
/// nothing for `idle`: hyper's header-read timeout alone would keep an idle kept-alive
/// connection for the whole header-read time.
struct IdleTimeout<T> {
    inner: T,
    idle: Duration,
    /// Armed by a write, disarmed by the next byte read.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> IdleTimeout<T> {
    fn new(inner: T, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: None,
        }
    }

    fn arm(&mut self) {
        let at = Instant::now() + self.idle;
        match &mut self.deadline {
            Some(sleep) => sleep.as_mut().reset(at),
            None => self.deadline = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        match polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => this.deadline = None,
            Poll::Pending => {
                if let Some(deadline) = &mut this.deadline {
                    if deadline.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "idle keep-alive connection",
                        )));
                    }
                }
            }
            Poll::Ready(_) => {}
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.arm();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.arm();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_processs_own_files() {
        let config = ServerConfig {
            header_read_timeout: 60,
            keep_alive_timeout: 5,
            request_timeout: 300,
            max_connections: 10_000,
        };
        assert_eq!(Limits::new(&config, Some(1024)).max_connections, 896);
        assert_eq!(Limits::new(&config, None).max_connections, 10_000);
        assert_eq!(
            Limits::new(&config, Some(1_048_576)).max_connections,
            10_000
        );
    }

    /// Handlers see the client's address, as with axum's
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    #[tokio::test]
    async fn handlers_get_the_clients_address() {
        use std::net::SocketAddr;
        let router = Router::new().route(
            "/",
            axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                peer.to_string()
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let config = ServerConfig {
            header_read_timeout: 5,
            keep_alive_timeout: 5,
            request_timeout: 5,
            max_connections: 4,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router,
            Limits::new(&config, None),
            Arc::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let local = stream.local_addr().unwrap();
        let body = get(&mut stream).await;
        assert!(body.ends_with(&local.to_string()), "{body}");
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

    async fn get(stream: &mut tokio::net::TcpStream) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_open_files_limit_is_raised_to_the_hard_limit() {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        // Start below the hard limit, as a service started at 1024 would.
        let hard = getrlimit(Resource::Nofile).maximum;
        let lowered = hard.map_or(1024, |h| h.min(1024) - 1);
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(lowered),
                maximum: hard,
            },
        )
        .unwrap();
        let limit = raise_open_files_limit();
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(now.current, now.maximum);
        assert_eq!(limit, now.current);
    }
}
