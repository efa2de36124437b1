//! Connections to the Redis server of the global tier: the options, a
//! small pool of blocking connections, retries with backoff, and the key
//! layout. Below both the store (`redis.rs`) and its locks
//! (`redis_lock.rs`), which share one pool.
//!
//! A command that fails in a way a retry can mend (a dropped connection,
//! a server restarting or loading its data) is retried on a fresh
//! connection with exponential backoff, within [`RedisOptions::retry_window`]
//! and the caller's deadline.

use super::GlobalError;
use redis::{Connection, RedisError, RetryMethod};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a [`RedisStore`](super::RedisStore) connects, retries and expires locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// How long a global lock lives unless released: what bounds the time
    /// a dead holder (a killed process) keeps it. A live holder's lock
    /// also expires after it, so it must exceed the longest critical
    /// section; the default is the executor's default call timeout (60 s),
    /// which no Faaslet outlives.
    pub lock_ttl: Duration,
    /// Bound on making one connection.
    pub connect_timeout: Duration,
    /// Bound on one command's reply.
    pub io_timeout: Duration,
    /// How long a failing command is retried at most (the call's deadline
    /// may cut it shorter).
    pub retry_window: Duration,
    /// Connections kept open between commands.
    pub max_idle: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            lock_ttl: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(2),
            io_timeout: Duration::from_secs(10),
            retry_window: Duration::from_secs(10),
            max_idle: 16,
        }
    }
}

/// The pool of connections to one server, shared by a store and its locks.
pub(super) struct Connections {
    /// For messages (without any password).
    url: String,
    client: redis::Client,
    idle: Mutex<Vec<Connection>>,
    pub(super) opts: RedisOptions,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.url)
            .finish()
    }
}

/// `url` without a password (`redis://user:secret@host` → `redis://user@host`).
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..s + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Whether trying again (on a new connection) may succeed.
fn retryable(e: &RedisError) -> bool {
    e.is_timeout() || !matches!(e.retry_method(), RetryMethod::NoRetry)
}

/// The Redis key of `key` of `user`, of kind `kind` (see `redis.rs`).
pub(super) fn rkey(kind: &str, user: &str, key: &str) -> Vec<u8> {
    let mut k = format!("faasm:{kind}:{}:{user}:", user.len()).into_bytes();
    k.extend_from_slice(key.as_bytes());
    k
}

const BACKOFF_START: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_millis(500);

impl Connections {
    /// Connects to `url` and checks the server answers (PING).
    pub(super) fn open(url: &str, opts: RedisOptions) -> Result<Connections, GlobalError> {
        let client = redis::Client::open(url).map_err(|e| GlobalError::BadUrl {
            url: shown(url),
            reason: e.to_string(),
        })?;
        let conns = Connections {
            url: shown(url),
            client,
            idle: Mutex::new(Vec::new()),
            opts,
        };
        let unavailable = |e: RedisError| GlobalError::Unavailable {
            url: conns.url.clone(),
            reason: e.to_string(),
        };
        let mut conn = conns.connect().map_err(unavailable)?;
        redis::cmd("PING")
            .query::<String>(&mut conn)
            .map_err(unavailable)?;
        conns.put(conn);
        Ok(conns)
    }

    fn connect(&self) -> Result<Connection, RedisError> {
        let conn = self
            .client
            .get_connection_with_timeout(self.opts.connect_timeout)?;
        conn.set_read_timeout(Some(self.opts.io_timeout))?;
        conn.set_write_timeout(Some(self.opts.io_timeout))?;
        Ok(conn)
    }

    fn put(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.opts.max_idle {
            idle.push(conn);
        }
    }

    fn take(&self) -> Result<Connection, RedisError> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    /// Runs `f` on a pooled connection, retrying what a retry may mend
    /// (on a new connection, after a growing pause) until the retry
    /// window or `deadline` ends.
    pub(super) fn run<T>(
        &self,
        deadline: Option<Instant>,
        mut f: impl FnMut(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, GlobalError> {
        let window_end = Instant::now() + self.opts.retry_window;
        let give_up = deadline.map_or(window_end, |d| d.min(window_end));
        let mut pause = BACKOFF_START;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = self.take().and_then(|mut conn| {
                let r = f(&mut conn);
                // A connection that failed may be out of step with the
                // server (a reply half read): never reuse it.
                if r.is_ok() {
                    self.put(conn);
                }
                r
            });
            match result {
                Ok(v) => return Ok(v),
                Err(e) if retryable(&e) && Instant::now() + pause < give_up => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(BACKOFF_MAX);
                }
                Err(e) => {
                    return Err(GlobalError::Redis {
                        url: self.url.clone(),
                        reason: e.to_string(),
                        attempts,
                    });
                }
            }
        }
    }
}
