//! The HTTP/1.1 accept loop shared by `faasm-run serve` and the HTTP
//! floor of `faasm-run bench http` (the same stack with a constant
//! handler, so the difference between them is the server's own cost).

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// A client must send a request's whole header within this (slow
    /// clients would otherwise hold connections forever).
    pub header_timeout: Duration,
    /// Connections open at once; one more gets a 503 and is closed.
    pub max_connections: usize,
    /// After shutdown is asked for, how long open connections get to
    /// finish the request they are in.
    pub grace: Duration,
}

/// Sent on a connection over the limit, before it is closed: no request
/// is read, so nothing else can be said.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 44\r\n\r\n\
{\"error\":\"too many connections; retry later\"}";

/// How the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every connection finished within the grace period.
    Drained,
    /// The grace period ran out with connections still open.
    GraceExpired,
}

/// Serves `listener` with `handler` until `shutdown` resolves, then stops
/// accepting and lets open connections finish their current request
/// (keep-alive is turned off for them) for up to `opts.grace`.
pub async fn serve<H, F>(
    listener: TcpListener,
    opts: HttpOptions,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> Stopped
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_timeout)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        // Out of descriptors, typically: back off rather
                        // than spin on the same error.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tokio::spawn(async move {
                        let mut stream = stream;
                        let _ = stream.write_all(BUSY).await;
                        let _ = stream.shutdown().await;
                        // Read what the client sent (a while at most)
                        // before closing: closing with unread bytes
                        // resets the connection, and the client might
                        // lose the 503 with it.
                        let mut buf = [0u8; 4096];
                        let drain = async {
                            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                        };
                        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
                    });
                    continue;
                };
                let h = handler.clone();
                let service = service_fn(move |req| {
                    let fut = h(req);
                    async move { Ok::<_, Infallible>(fut.await) }
                });
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _slot = slot;
                    // Errors here are the client's (reset, header timeout,
                    // malformed request): hyper has answered what it could.
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => Stopped::Drained,
        () = tokio::time::sleep(opts.grace) => Stopped::GraceExpired,
    }
}
