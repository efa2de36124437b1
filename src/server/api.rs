//! The API's handlers: authentication, authorisation, then the route.
//!
//! Anything that may block (compiling an upload, reading the store's
//! directory, the global state tier) runs under `spawn_blocking`; calls
//! run on the executor's workers and come back through a oneshot channel
//! signalled from the worker that ends them. No handler blocks a tokio
//! thread.

use super::auth::{AuthError, Caller, Tokens};
use super::calls::{self, AsyncCalls};
use super::limits::{Admission, Saturated};
use super::metrics::{Gauges, Metrics, Outcome};
use super::routes::{self, Route, RouteError};
use crate::executor::{Executor, StoreError};
use bytes::Bytes;
use faasm_hostif::faasm::CallResult;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type Reply = Response<Full<Bytes>>;

/// How long a call alone in flight is polled for before its task sleeps.
const POLL_ALONE: Duration = Duration::from_micros(60);

/// The header carrying a call's return code.
pub const RETURN_CODE: &str = "x-faasm-return-code";

/// Everything a request may fail with, and its status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("this token does not reach user {0:?}")]
    Forbidden(String),
    #[error("only an admin token may read {0}")]
    AdminOnly(&'static str),
    #[error("request body over the limit of {0} bytes")]
    TooLarge(usize),
    #[error("cannot read the request body: {0}")]
    Body(String),
    #[error(transparent)]
    Saturated(#[from] Saturated),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown call {0}")]
    UnknownCall(u32),
    #[error("no state value {user}/{key}")]
    NoState { user: String, key: String },
    #[error("{0}")]
    State(String),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Route(RouteError::NotFound(_)) => StatusCode::NOT_FOUND,
            ApiError::Route(RouteError::MethodNotAllowed { .. }) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Route(_) => StatusCode::BAD_REQUEST,
            ApiError::Auth(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::AdminOnly(_) => StatusCode::FORBIDDEN,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Body(_) => StatusCode::BAD_REQUEST,
            ApiError::Saturated(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Store(StoreError::NotFound { .. }) | ApiError::UnknownCall(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::NoState { .. } => StatusCode::NOT_FOUND,
            ApiError::Store(
                StoreError::InvalidName { .. }
                | StoreError::InvalidFunction(_)
                | StoreError::Compile { .. }
                | StoreError::ThreadsGuest { .. },
            ) => StatusCode::BAD_REQUEST,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::State(_) => StatusCode::BAD_REQUEST,
            ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn reply(&self) -> Reply {
        let mut r = json(
            self.status(),
            &serde_json::json!({ "error": crate::exit::report(&self.to_string()) }),
        );
        match self {
            ApiError::Auth(_) => {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Saturated(_) | ApiError::ShuttingDown => {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        r
    }
}

pub fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn json(status: StatusCode, v: &serde_json::Value) -> Reply {
    let mut body = v.to_string();
    body.push('\n');
    reply(status, "application/json", body)
}

/// Server settings the handlers need.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body (uploads, inputs, state values).
    pub max_body: usize,
    /// No tokens: every request acts as an admin.
    pub no_auth: bool,
}

/// The server's shared state.
pub struct App {
    pub exec: Arc<Executor>,
    pub tokens: Option<Tokens>,
    pub admission: Arc<Admission>,
    pub metrics: Metrics,
    pub calls: AsyncCalls,
    pub config: ApiConfig,
    /// Set on shutdown: new calls are refused (503) while running ones
    /// finish.
    pub closing: std::sync::atomic::AtomicBool,
    /// Compiles at once (each takes a core for up to the compile limit);
    /// more uploads wait their turn instead of taking every blocking
    /// thread.
    pub compiles: tokio::sync::Semaphore,
}

/// Runs blocking work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The whole body, refused as soon as it passes `limit` (a declared
/// length over it is refused before reading anything).
async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge(limit));
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::TooLarge(limit)),
        Err(e) => Err(ApiError::Body(e.to_string())),
    }
}

fn outcome_of(r: &CallResult) -> Outcome {
    match (r.failed, r.timed_out, r.return_code) {
        (true, true, _) => Outcome::TimedOut,
        (true, false, _) => Outcome::Failed,
        (false, _, 0) => Outcome::Ok,
        _ => Outcome::Error,
    }
}

impl App {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Reply {
        match self.route(req).await {
            Ok(r) => r,
            Err(e) => e.reply(),
        }
    }

    fn caller(&self, req: &Request<Incoming>) -> Result<Caller, ApiError> {
        match &self.tokens {
            None => Ok(Caller::Admin),
            Some(t) => Ok(t.check(req.headers().get(header::AUTHORIZATION))?),
        }
    }

    async fn route(self: Arc<Self>, req: Request<Incoming>) -> Result<Reply, ApiError> {
        let route = routes::parse(req.method(), req.uri().path())?;
        if route == Route::Health {
            return Ok(reply(StatusCode::OK, "text/plain", "ok\n"));
        }
        let caller = self.caller(&req)?;
        let reach = |user: &str| {
            if caller.may_reach(user) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(user.to_string()))
            }
        };
        match route {
            Route::Health => unreachable!("answered above"),
            Route::Metrics if !caller.is_admin() => Err(ApiError::AdminOnly("/metrics")),
            Route::Metrics => Ok(self.metrics()),
            Route::ListFunctions => self.list(caller).await,
            Route::Upload { user, func } => {
                reach(&user)?;
                let wasm = read_body(req, self.config.max_body).await?;
                self.upload(user, func, wasm).await
            }
            Route::Delete { user, func } => {
                reach(&user)?;
                let exec = self.exec.clone();
                blocking(move || exec.remove(&user, &func)).await??;
                Ok(reply(StatusCode::NO_CONTENT, "text/plain", ""))
            }
            Route::Invoke { user, func } => {
                reach(&user)?;
                let is_async = routes::wants_async(req.uri().query());
                self.invoke(req, user, func, is_async).await
            }
            Route::Call { id } => {
                let call = self.calls.get(id).ok_or(ApiError::UnknownCall(id))?;
                // Another user's call id reads as unknown rather than
                // forbidden: ids are sequential, and must not tell which
                // calls others made.
                if !caller.may_reach(&call.user) {
                    return Err(ApiError::UnknownCall(id));
                }
                Ok(json(StatusCode::OK, &calls::describe(id, &call)))
            }
            Route::GetState { user, key } => {
                reach(&user)?;
                self.get_state(user, key).await
            }
            Route::SetState { user, key } => {
                reach(&user)?;
                let value = read_body(req, self.config.max_body).await?;
                self.set_state(user, key, value).await
            }
        }
    }

    fn metrics(&self) -> Reply {
        let (busy, workers) = self.exec.occupancy();
        let text = self.metrics.render(Gauges {
            live_faaslets: self.admission.in_flight(),
            warm_faaslets: self.exec.warm_faaslets(),
            workers_busy: busy,
            workers,
            state_bytes: self.exec.state().total_bytes(),
            async_calls_held: self.calls.len(),
        });
        reply(StatusCode::OK, "text/plain; version=0.0.4", text)
    }

    async fn list(&self, caller: Caller) -> Result<Reply, ApiError> {
        let store = self.exec.store().clone();
        let all = blocking(move || store.list()).await??;
        let names: Vec<String> = all
            .into_iter()
            .filter(|(u, _)| caller.may_reach(u))
            .map(|(u, f)| format!("{u}/{f}"))
            .collect();
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "functions": names }),
        ))
    }

    async fn upload(&self, user: String, func: String, wasm: Bytes) -> Result<Reply, ApiError> {
        let exec = self.exec.clone();
        let (u, f) = (user.clone(), func.clone());
        let len = wasm.len();
        let _turn = self
            .compiles
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let stored = blocking(move || exec.upload(&u, &f, &wasm)).await??;
        tracing::info!(%user, function = %func, bytes = len, "uploaded");
        Ok(json(
            StatusCode::CREATED,
            &serde_json::json!({
                "function": format!("{user}/{func}"),
                "artifact": stored.artifact.display().to_string(),
                "artifact_bytes": stored.artifact_bytes,
                "wasm": stored.wasm.display().to_string(),
                "wasm_bytes": len,
            }),
        ))
    }

    async fn invoke(
        self: Arc<Self>,
        req: Request<Incoming>,
        user: String,
        func: String,
        is_async: bool,
    ) -> Result<Reply, ApiError> {
        if self.closing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ApiError::ShuttingDown);
        }
        // An unknown function is the request's error (404), not a failed
        // call; a loaded one needs no look at the disk.
        if !self.exec.is_loaded(&user, &func) {
            let exec = self.exec.clone();
            let (u, f) = (user.clone(), func.clone());
            blocking(move || exec.has_snapshot(&u, &f)).await??;
        }
        let permit = match self.admission.admit(&user) {
            Ok(p) => p,
            Err(e) => {
                self.metrics.record(&user, &func, Outcome::Rejected, None);
                return Err(e.into());
            }
        };
        let input = read_body(req, self.config.max_body).await?;
        let start = Instant::now();
        let handle = self.exec.call(&user, &func, input.to_vec());
        let id = handle.id;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let app = self.clone();
        let (u, f) = (user.clone(), func.clone());
        // Runs on the worker that ends the call, whether or not anyone
        // still waits for it: the permit, the metrics and the log line
        // follow the call, not the connection.
        let on_done = move |r: Arc<CallResult>| {
            let took = start.elapsed();
            let outcome = outcome_of(&r);
            app.metrics.record(&u, &f, outcome, Some(took));
            drop(permit);
            if is_async {
                app.calls.finished(id);
            }
            let return_code = r.return_code;
            // The request replies while the log line is written (its
            // formatting and write cost as much as the rest of the call).
            let _ = tx.send(r);
            tracing::info!(
                call_id = id,
                user = %u,
                function = %f,
                duration_us = took.as_micros() as u64,
                outcome = outcome.as_str(),
                return_code,
                "call"
            );
        };
        if is_async {
            // In the table before the callback is set, which may run at
            // once and mark it finished.
            drop(rx);
            self.calls.insert(&user, &func, handle).on_done(on_done);
            return Ok(json(
                StatusCode::ACCEPTED,
                &serde_json::json!({ "id": id, "url": format!("/v1/calls/{id}") }),
            ));
        }
        handle.on_done(on_done);
        let mut rx = rx;
        // Alone in flight, a short call is usually done within tens of
        // microseconds: poll for it, yielding to other tasks between
        // polls, before parking this thread, whose wake-up from another
        // thread costs as much again (and far more on a busy machine).
        // Under load there are other tasks to run instead, so no polling.
        if self.admission.in_flight() <= 1 {
            let until = Instant::now() + POLL_ALONE;
            while Instant::now() < until {
                match rx.try_recv() {
                    Ok(r) => return Ok(call_reply(&r)),
                    Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {
                        tokio::task::yield_now().await
                    }
                    Err(_) => break,
                }
            }
        }
        let r = rx
            .await
            .map_err(|_| ApiError::Internal("the call ended without a result".into()))?;
        Ok(call_reply(&r))
    }

    async fn get_state(&self, user: String, key: String) -> Result<Reply, ApiError> {
        let state = self.exec.state().clone();
        let value = blocking(move || {
            let deadline = Some(Instant::now() + Duration::from_secs(10));
            state
                .fetch("GET /v1/state", &user, &key, deadline)
                .map_err(|e| ApiError::State(e.to_string()))?;
            state
                .get(&user, &key)
                .ok_or(ApiError::NoState { user, key })
        })
        .await??;
        Ok(reply(StatusCode::OK, "application/octet-stream", value))
    }

    async fn set_state(&self, user: String, key: String, value: Bytes) -> Result<Reply, ApiError> {
        let state = self.exec.state().clone();
        blocking(move || {
            let deadline = Some(Instant::now() + Duration::from_secs(10));
            state
                .set("PUT /v1/state", &user, &key, &value)
                .and_then(|()| state.push("PUT /v1/state", &user, &key, deadline))
                .map_err(|e| ApiError::State(e.to_string()))
        })
        .await??;
        Ok(reply(StatusCode::NO_CONTENT, "text/plain", ""))
    }
}

/// A finished call as a reply: its output and return code, or its error
/// (500, or 504 for a timeout) with what it printed before failing.
pub fn call_reply(r: &CallResult) -> Reply {
    let mut reply = if r.failed {
        let status = if r.timed_out {
            StatusCode::GATEWAY_TIMEOUT
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        json(
            status,
            &serde_json::json!({
                "error": crate::exit::report(&String::from_utf8_lossy(&r.output)),
                "printed": String::from_utf8_lossy(&r.printed),
                "timed_out": r.timed_out,
            }),
        )
    } else {
        reply(
            StatusCode::OK,
            "application/octet-stream",
            Bytes::from(r.output.clone()),
        )
    };
    reply
        .headers_mut()
        .insert(RETURN_CODE, HeaderValue::from(r.return_code));
    reply
}
