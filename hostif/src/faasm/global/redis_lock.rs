//! Reader-writer locks on Redis, with tokens and expiry.
//!
//! A writer holds `faasm:lw:...` = its random token, set only when absent
//! and with an expiry (`PX`): the `SET NX PX` pattern, inside a script
//! because it must also check that no reader holds the lock. Readers are
//! members of the sorted set `faasm:lr:...`, each scored with its own
//! expiry time (server clock, ms); expired readers are swept before every
//! decision. Releasing deletes the writer key only if it still holds our
//! token (another holder may have it after ours expired), and removes only
//! our reader entry.
//!
//! So a holder that dies (a killed process) blocks others for at most
//! [`RedisOptions::lock_ttl`](super::RedisOptions::lock_ttl); nothing
//! renews a lock, so a live holder must finish within it too.

use super::redis_conn::{Connections, rkey};
use super::{GlobalError, GlobalLock, LockMode};
use redis::Script;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

/// KEYS: writer, readers. ARGV: token, ttl (ms). 1 if taken (or already
/// ours: a retry after a lost reply must not wait for itself), else 0.
static WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local w = redis.call('GET', KEYS[1])
if w == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if w then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return 1
",
    )
});

/// KEYS: writer, readers. ARGV: token, ttl (ms). The readers' set itself
/// expires with its longest-lived member.
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
",
    )
});

/// KEYS: writer. ARGV: token. Deletes the key only if it is still ours.
static UNLOCK_WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// How long a waiting locker sleeps between tries, at first and at most.
const POLL_START: Duration = Duration::from_millis(1);
const POLL_MAX: Duration = Duration::from_millis(50);

/// How long a release keeps trying (then the lock expires by itself).
const RELEASE_WINDOW: Duration = Duration::from_secs(2);

pub(super) struct RedisLock {
    inner: Arc<Connections>,
    writer: Vec<u8>,
    readers: Vec<u8>,
    token: String,
    mode: LockMode,
}

impl std::fmt::Debug for RedisLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLock")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl GlobalLock for RedisLock {}

/// 128 random bits, so no other holder (of any process) has our token.
fn token() -> Result<String, GlobalError> {
    let mut bytes = [0u8; 16];
    let mut filled = 0;
    while filled < bytes.len() {
        filled +=
            rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty())
                .map_err(|e| GlobalError::Io(std::io::Error::from(e).to_string()))?;
    }
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl RedisLock {
    pub(super) fn acquire(
        inner: Arc<Connections>,
        user: &str,
        key: &str,
        mode: LockMode,
        deadline: Option<Instant>,
    ) -> Result<RedisLock, GlobalError> {
        let (writer, readers, token) = (rkey("lw", user, key), rkey("lr", user, key), token()?);
        let ttl = u64::try_from(inner.opts.lock_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let script = match mode {
            LockMode::Read => &*READ,
            LockMode::Write => &*WRITE,
        };
        let mut pause = POLL_START;
        loop {
            let got: i64 = inner.run(deadline, |c| {
                script
                    .key(&writer)
                    .key(&readers)
                    .arg(&token)
                    .arg(ttl)
                    .invoke(c)
            })?;
            if got == 1 {
                return Ok(RedisLock {
                    inner,
                    writer,
                    readers,
                    token,
                    mode,
                });
            }
            if deadline.is_some_and(|d| Instant::now() + pause >= d) {
                return Err(GlobalError::DeadlinePassed);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(POLL_MAX);
        }
    }
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        let deadline = Some(Instant::now() + RELEASE_WINDOW);
        // A release that fails (the server gone) leaves the lock to expire.
        let _ = match self.mode {
            LockMode::Write => self.inner.run(deadline, |c| {
                UNLOCK_WRITE
                    .key(&self.writer)
                    .arg(&self.token)
                    .invoke::<i64>(c)
            }),
            LockMode::Read => self.inner.run(deadline, |c| {
                redis::cmd("ZREM")
                    .arg(&self.readers)
                    .arg(&self.token)
                    .query::<i64>(c)
            }),
        };
    }
}
