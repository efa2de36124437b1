//! `faasm-run serve`: a long-running executor behind an HTTP API, with
//! users and tokens, limits, metrics and per-call logs.
//!
//! - [`http`]: the accept loop (hyper HTTP/1.1 on tokio), connection
//!   limit, header timeout, graceful shutdown;
//! - [`routes`]: paths to routes, names checked;
//! - [`api`]: the handlers; [`auth`]: tokens; [`limits`]: admission;
//!   [`calls`]: async calls; [`metrics`]: `/metrics`;
//! - [`cli`]: `faasm-run serve` and `faasm-run token`;
//! - [`client`]: `upload`/`invoke --remote`; [`bench`](mod@bench): `bench http`.
//!
//! Faaslets run on the executor's worker threads; tokio's threads only
//! move bytes and wait on channels.

pub mod api;
pub mod auth;
pub mod bench;
pub mod calls;
pub mod cli;
pub mod client;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod routes;

use crate::executor::Executor;
use api::{ApiConfig, App};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Everything `serve` needs besides the executor.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub http: http::HttpOptions,
    pub api: ApiConfig,
    pub max_calls_per_user: usize,
    pub max_calls: usize,
    pub keep_async: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(
        "--insecure-no-auth is only allowed on a loopback address (127.0.0.0/8 or ::1), not {0}"
    )]
    NoAuthNotLoopback(String),
    #[error("cannot resolve {addr}: {source}")]
    Resolve {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tokens(#[from] auth::TokenError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Whether every address `addr` names is a loopback one.
pub fn is_loopback(addr: &str) -> Result<bool, ServeError> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|source| ServeError::Resolve {
            addr: addr.to_string(),
            source,
        })?
        .collect();
    Ok(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()))
}

/// The app behind the API, over `exec`.
pub fn app(exec: Arc<Executor>, opts: &ServeOptions) -> Result<Arc<App>, ServeError> {
    let exec_workers = exec.config().workers.max(1);
    let tokens = if opts.api.no_auth {
        None
    } else {
        Some(auth::Tokens::open(exec.store().home())?)
    };
    Ok(Arc::new(App {
        exec,
        tokens,
        admission: limits::Admission::new(opts.max_calls_per_user, opts.max_calls),
        metrics: metrics::Metrics::default(),
        calls: calls::AsyncCalls::new(opts.keep_async),
        config: opts.api.clone(),
        closing: Default::default(),
        compiles: tokio::sync::Semaphore::new(exec_workers),
    }))
}

/// Waits for SIGTERM or SIGINT (Ctrl-C).
async fn terminated() -> Result<impl std::future::Future<Output = ()>, ServeError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    })
}

/// Serves the API on `listener` until SIGTERM/SIGINT, then drains: new
/// connections and calls are refused, running calls (async ones too) get
/// the grace period to finish.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    opts: &ServeOptions,
) -> Result<(), ServeError> {
    let signal = terminated().await?;
    let a = app.clone();
    let asked = Arc::new(std::sync::OnceLock::new());
    let asked_at = asked.clone();
    let shutdown = async move {
        signal.await;
        let _ = asked_at.set(Instant::now());
        a.closing.store(true, Ordering::SeqCst);
    };
    let h = app.clone();
    let handler = move |req| h.clone().handle(req);
    let stopped = http::serve(listener, opts.http.clone(), handler, shutdown).await;
    // Async calls have no connection holding them open: wait for them
    // too, within what is left of the same grace period.
    let until = asked.get().copied().unwrap_or_else(Instant::now) + opts.http.grace;
    while app.admission.in_flight() > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left = app.admission.in_flight();
    if stopped == http::Stopped::GraceExpired || left > 0 {
        tracing::warn!(
            calls_left = left,
            "grace period over; exiting with work unfinished"
        );
    } else {
        tracing::info!("drained; exiting");
    }
    Ok(())
}
