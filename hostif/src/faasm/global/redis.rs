//! The Redis global tier, through the `redis` crate (blocking connections
//! kept in a small pool; commands that go together sent as one pipeline).
//!
//! Keys are namespaced per user and kind, with the user's length first so
//! no (user, key) pair can spell another's:
//! `faasm:<kind>:<len(user)>:<user>:<key>`, kind `v` (value), `a`
//! (appended list), `lw`/`lr` (the lock's writer and readers; see
//! [`super::redis_lock`]).
//!
//! A command that fails in a way a retry can mend (a dropped connection,
//! a server restarting or loading its data) is retried on a fresh
//! connection with exponential backoff, within [`RedisOptions::retry_window`]
//! and the caller's deadline. Only a reply from the server acknowledges a
//! write, so an acknowledged write was applied by the server; whether it
//! survives a server restart is the server's persistence setting
//! (`appendfsync always` keeps every acknowledged write). Writes are
//! idempotent (SET, SETRANGE) except appends: an append whose reply was
//! lost may be applied twice.

use super::redis_lock::RedisLock;
use super::{GlobalError, GlobalLock, GlobalStore, LockMode, Ranges, check_key};
use redis::{Connection, RedisError, RetryMethod, Value};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a [`RedisStore`] connects, retries and expires locks.
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

/// The global tier on a Redis server.
#[derive(Debug, Clone)]
pub struct RedisStore {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    /// For messages (without any password).
    url: String,
    client: redis::Client,
    idle: Mutex<Vec<Connection>>,
    pub(super) opts: RedisOptions,
}

impl std::fmt::Debug for Inner {
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

pub(super) fn rkey(kind: &str, user: &str, key: &str) -> Vec<u8> {
    let mut k = format!("faasm:{kind}:{}:{user}:", user.len()).into_bytes();
    k.extend_from_slice(key.as_bytes());
    k
}

const BACKOFF_START: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_millis(500);

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT[/DB]`) and checks the server
    /// answers (PING): a server that does not is an error now, not at the
    /// first push.
    pub fn connect(url: &str, opts: RedisOptions) -> Result<RedisStore, GlobalError> {
        let client = redis::Client::open(url).map_err(|e| GlobalError::BadUrl {
            url: shown(url),
            reason: e.to_string(),
        })?;
        let inner = Inner {
            url: shown(url),
            client,
            idle: Mutex::new(Vec::new()),
            opts,
        };
        let unavailable = |e: RedisError| GlobalError::Unavailable {
            url: inner.url.clone(),
            reason: e.to_string(),
        };
        let mut conn = inner.connect().map_err(unavailable)?;
        redis::cmd("PING")
            .query::<String>(&mut conn)
            .map_err(unavailable)?;
        inner.put(conn);
        Ok(RedisStore {
            inner: Arc::new(inner),
        })
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &RedisOptions {
        &self.inner.opts
    }
}

impl Inner {
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

impl GlobalStore for RedisStore {
    fn get(
        &self,
        user: &str,
        key: &str,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<u8>>, GlobalError> {
        check_key(key)?;
        let k = rkey("v", user, key);
        self.inner
            .run(deadline, |c| redis::cmd("GET").arg(&k).query(c))
    }

    fn set(
        &self,
        user: &str,
        key: &str,
        value: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(), GlobalError> {
        check_key(key)?;
        let k = rkey("v", user, key);
        self.inner
            .run(deadline, |c| redis::cmd("SET").arg(&k).arg(value).query(c))
    }

    fn get_ranges(
        &self,
        user: &str,
        key: &str,
        ranges: &[Range<usize>],
        deadline: Option<Instant>,
    ) -> Result<Option<Ranges>, GlobalError> {
        check_key(key)?;
        let k = rkey("v", user, key);
        // One transaction: the length and every range from one version.
        let mut p = redis::pipe();
        p.atomic().cmd("EXISTS").arg(&k).cmd("STRLEN").arg(&k);
        for r in ranges.iter().filter(|r| r.end > r.start) {
            p.cmd("GETRANGE").arg(&k).arg(r.start).arg(r.end - 1);
        }
        let replies: Vec<Value> = self.inner.run(deadline, |c| p.query(c))?;
        let mut replies = replies.into_iter();
        let mut next = || {
            replies
                .next()
                .ok_or(GlobalError::Malformed { what: "reply" })
        };
        let exists: bool =
            redis::from_redis_value(next()?).map_err(|_| GlobalError::Malformed {
                what: "EXISTS reply",
            })?;
        let len: usize = redis::from_redis_value(next()?).map_err(|_| GlobalError::Malformed {
            what: "STRLEN reply",
        })?;
        if !exists {
            return Ok(None);
        }
        let mut parts = Vec::with_capacity(ranges.len());
        for r in ranges {
            if r.end <= r.start {
                parts.push(Vec::new());
                continue;
            }
            let v: Vec<u8> =
                redis::from_redis_value(next()?).map_err(|_| GlobalError::Malformed {
                    what: "GETRANGE reply",
                })?;
            parts.push(v);
        }
        Ok(Some((len, parts)))
    }

    fn set_ranges(
        &self,
        user: &str,
        key: &str,
        writes: &[(usize, &[u8])],
        deadline: Option<Instant>,
    ) -> Result<(), GlobalError> {
        check_key(key)?;
        if writes.is_empty() {
            return Ok(());
        }
        let k = rkey("v", user, key);
        // MULTI/EXEC: all the ranges or none, in one round trip.
        let mut p = redis::pipe();
        p.atomic();
        for (offset, bytes) in writes {
            p.cmd("SETRANGE").arg(&k).arg(*offset).arg(*bytes).ignore();
        }
        self.inner.run(deadline, |c| p.query::<()>(c))
    }

    fn append(
        &self,
        user: &str,
        key: &str,
        elem: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(), GlobalError> {
        check_key(key)?;
        let k = rkey("a", user, key);
        self.inner.run(deadline, |c| {
            redis::cmd("RPUSH")
                .arg(&k)
                .arg(elem)
                .query::<i64>(c)
                .map(|_| ())
        })
    }

    fn appended(
        &self,
        user: &str,
        key: &str,
        n: usize,
        deadline: Option<Instant>,
    ) -> Result<Vec<Vec<u8>>, GlobalError> {
        check_key(key)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let k = rkey("a", user, key);
        let last = isize::try_from(n - 1).unwrap_or(isize::MAX);
        self.inner.run(deadline, |c| {
            redis::cmd("LRANGE").arg(&k).arg(0).arg(last).query(c)
        })
    }

    fn clear_appended(
        &self,
        user: &str,
        key: &str,
        deadline: Option<Instant>,
    ) -> Result<(), GlobalError> {
        check_key(key)?;
        let k = rkey("a", user, key);
        self.inner.run(deadline, |c| {
            redis::cmd("DEL").arg(&k).query::<i64>(c).map(|_| ())
        })
    }

    fn lock(
        &self,
        user: &str,
        key: &str,
        mode: LockMode,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn GlobalLock>, GlobalError> {
        check_key(key)?;
        let lock = RedisLock::acquire(self.inner.clone(), user, key, mode, deadline)?;
        Ok(Box::new(lock))
    }
}
