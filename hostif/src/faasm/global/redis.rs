//! The Redis global tier, through the `redis` crate (blocking connections
//! kept in a small pool; commands that go together sent as one pipeline).
//!
//! Keys are namespaced per user and kind, with the user's length first so
//! no (user, key) pair can spell another's:
//! `faasm:<kind>:<len(user)>:<user>:<key>`, kind `v` (value), `a`
//! (appended list), `lw`/`lr` (the lock's writer and readers; see
//! [`super::redis_lock`]).
//!
//! Retries are `redis_conn`'s. Only a reply from the server acknowledges a
//! write, so an acknowledged write was applied by the server; whether it
//! survives a server restart is the server's persistence setting
//! (`appendfsync always` keeps every acknowledged write). Writes are
//! idempotent (SET, SETRANGE) except appends: an append whose reply was
//! lost may be applied twice.

use super::redis_conn::{Connections, RedisOptions, rkey};
use super::redis_lock::RedisLock;
use super::{GlobalError, GlobalLock, GlobalStore, LockMode, Ranges, check_key};
use redis::Value;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

/// The global tier on a Redis server.
#[derive(Debug, Clone)]
pub struct RedisStore {
    pub(super) inner: Arc<Connections>,
}

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT[/DB]`) and checks the server
    /// answers (PING): a server that does not is an error now, not at the
    /// first push.
    pub fn connect(url: &str, opts: RedisOptions) -> Result<RedisStore, GlobalError> {
        Ok(RedisStore {
            inner: Arc::new(Connections::open(url, opts)?),
        })
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &RedisOptions {
        &self.inner.opts
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
