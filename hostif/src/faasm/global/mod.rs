//! The global state tier: values that outlive an executor and are shared
//! by every executor process of an installation (or of every host using
//! one Redis server).
//!
//! [`GlobalStore`] is what the local tier ([`super::StateStore`]) pushes
//! to and pulls from, and whose locks make the state locks hold across
//! processes. Two backends:
//! - [`EmbeddedStore`] (the default): files under `$FAASM_HOME/state`, no
//!   server needed;
//! - [`RedisStore`]: a Redis server, chosen with a `redis://HOST:PORT` URL
//!   (see [`open`]).
//!
//! Values move whole (`get`/`set`) or by byte ranges (`get_ranges`/
//! `set_ranges`): the local tier cuts values into [`CHUNK`]-byte chunks and
//! moves only the chunks an offset call touches or a partial push finds
//! dirty.

mod embedded;
mod redis;
mod redis_conn;
mod redis_lock;
#[doc(hidden)]
pub mod testing;
#[cfg(test)]
mod tests;

pub use embedded::EmbeddedStore;
pub use redis::RedisStore;
pub use redis_conn::RedisOptions;

use std::fmt::Debug;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Shared (readers) or exclusive (a writer), for every state lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Shared: any number of readers at once.
    Read,
    /// Exclusive: one writer and no readers.
    Write,
}

/// The unit in which values move between the tiers by range: a wasm page,
/// so a chunk is also what one page of a mapped region holds.
pub const CHUNK: usize = 65536;

/// The longest key a store accepts, in bytes (the guest ABI's limit: 1024
/// bytes with the NUL).
pub const MAX_KEY: usize = 1023;

/// Why the global tier failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobalError {
    /// The store's I/O failed (the OS error, as text: errors are compared).
    #[error("global state store: {0}")]
    Io(String),
    /// A lock was still held by another when the deadline passed.
    #[error("global state lock not taken before the deadline")]
    DeadlinePassed,
    /// A key longer than the guest ABI allows.
    #[error("global state key of {len} bytes is longer than the limit of {max}")]
    KeyTooLong {
        /// The key's length in bytes.
        len: usize,
        /// The longest key accepted ([`MAX_KEY`]).
        max: usize,
    },
    /// The configured store could not be reached when it was opened; the
    /// embedded store is never substituted for it.
    #[error("state store {url}: cannot connect: {reason}")]
    Unavailable {
        /// The store's URL.
        url: String,
        /// Why connecting failed.
        reason: String,
    },
    /// `--state-store` / `FAASM_STATE_STORE` is not a URL we know.
    #[error("state store {url:?}: {reason}")]
    BadUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Redis failed a command, after `attempts` tries where retrying made
    /// sense (a dropped connection, a restarting server).
    #[error("redis {url}: {reason} (after {attempts} attempts)")]
    Redis {
        /// The server's URL.
        url: String,
        /// Redis's error, as text.
        reason: String,
        /// How many times the command was tried.
        attempts: u32,
    },
    /// What the store holds is not what we wrote (a corrupted list file, a
    /// Redis key of another type).
    #[error("global state store: malformed {what}")]
    Malformed {
        /// What was malformed, e.g. `STRLEN reply`.
        what: &'static str,
    },
}

impl From<io::Error> for GlobalError {
    fn from(e: io::Error) -> GlobalError {
        GlobalError::Io(e.to_string())
    }
}

/// Refuses keys past [`MAX_KEY`] (embedders reach the stores without the
/// guest ABI's check).
pub(crate) fn check_key(key: &str) -> Result<(), GlobalError> {
    if key.len() > MAX_KEY {
        return Err(GlobalError::KeyTooLong {
            len: key.len(),
            max: MAX_KEY,
        });
    }
    Ok(())
}

/// A held cross-process lock; released on drop.
pub trait GlobalLock: Send + Debug {}

/// A value's length and the bytes of the ranges asked for.
pub type Ranges = (usize, Vec<Vec<u8>>);

/// Where state persists and is shared beyond one executor. Every call
/// gives up at `deadline` (the calling Faaslet's), at the latest.
pub trait GlobalStore: Send + Sync + Debug {
    /// The last value pushed for `user`'s `key`, if any.
    fn get(
        &self,
        user: &str,
        key: &str,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<u8>>, GlobalError>;
    /// Replaces the value (atomically: readers see the old or the new).
    fn set(
        &self,
        user: &str,
        key: &str,
        value: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(), GlobalError>;
    /// The value's length and, for each range, its bytes (cut at the
    /// value's end); `None` if the key has no value. Length and bytes are
    /// read together (one snapshot of the value).
    fn get_ranges(
        &self,
        user: &str,
        key: &str,
        ranges: &[Range<usize>],
        deadline: Option<Instant>,
    ) -> Result<Option<Ranges>, GlobalError>;
    /// Writes each `(offset, bytes)` into the value (made empty if absent;
    /// a write past the end extends it, zero-filled), all together:
    /// readers see none or all of them.
    fn set_ranges(
        &self,
        user: &str,
        key: &str,
        writes: &[(usize, &[u8])],
        deadline: Option<Instant>,
    ) -> Result<(), GlobalError>;
    /// Appends one element to the key's list.
    fn append(
        &self,
        user: &str,
        key: &str,
        elem: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(), GlobalError>;
    /// The first `n` elements of the key's list (fewer if fewer exist).
    fn appended(
        &self,
        user: &str,
        key: &str,
        n: usize,
        deadline: Option<Instant>,
    ) -> Result<Vec<Vec<u8>>, GlobalError>;
    /// Empties the key's list.
    fn clear_appended(
        &self,
        user: &str,
        key: &str,
        deadline: Option<Instant>,
    ) -> Result<(), GlobalError>;
    /// Takes the key's lock, waiting until `deadline` at most.
    fn lock(
        &self,
        user: &str,
        key: &str,
        mode: LockMode,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn GlobalLock>, GlobalError>;
}

/// The environment variable naming the global tier (as `--state-store`).
pub const STATE_STORE_ENV: &str = "FAASM_STATE_STORE";

/// The environment variable setting the Redis lock expiry, milliseconds.
pub const LOCK_TTL_ENV: &str = "FAASM_STATE_LOCK_TTL_MS";

/// The global tier `url` names: `redis://HOST:PORT[/DB]` for Redis
/// (connected now: a server that does not answer is an error, never a
/// silent switch to the embedded store), none for the embedded store
/// under `home/state`.
pub fn open(
    url: Option<&str>,
    home: &Path,
    redis: RedisOptions,
) -> Result<Arc<dyn GlobalStore>, GlobalError> {
    match url {
        None => Ok(Arc::new(EmbeddedStore::new(home.join("state")))),
        Some(u) if u.starts_with("redis://") => Ok(Arc::new(RedisStore::connect(u, redis)?)),
        Some(u) => Err(GlobalError::BadUrl {
            url: u.to_string(),
            reason: "expected redis://HOST:PORT (or no store: the embedded one)".into(),
        }),
    }
}
