//! The global state tier: values that outlive an executor and are shared
//! by every executor process of an installation.
//!
//! [`GlobalStore`] is what the local tier ([`super::StateStore`]) pushes
//! to and pulls from, and whose locks make the state locks hold across
//! processes. [`EmbeddedStore`] is the default: files under
//! `$FAASM_HOME/state`, no server needed.
//!
//! Consistency (embedded store): a push replaces the stored value
//! atomically (write, then rename), so a pull sees a whole value, the last
//! one pushed before it. Locks are `flock(2)` locks on a per-key file,
//! shared for readers and exclusive for writers; the kernel drops them when
//! their holder's process dies, so no dead Faaslet holds one forever.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Shared (readers) or exclusive (a writer), for every state lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Read,
    Write,
}

/// Why the global tier failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobalError {
    /// The store's I/O failed (the OS error, as text: errors are compared).
    #[error("global state store: {0}")]
    Io(String),
    #[error("global state lock not taken before the deadline")]
    DeadlinePassed,
}

impl From<io::Error> for GlobalError {
    fn from(e: io::Error) -> GlobalError {
        GlobalError::Io(e.to_string())
    }
}

/// A held cross-process lock; released on drop.
pub trait GlobalLock: Send + Debug {}

/// Where state persists and is shared beyond one executor.
pub trait GlobalStore: Send + Sync + Debug {
    /// The last value pushed for `user`'s `key`, if any.
    fn get(&self, user: &str, key: &str) -> Result<Option<Vec<u8>>, GlobalError>;
    /// Replaces the value (atomically: readers see the old or the new).
    fn set(&self, user: &str, key: &str, value: &[u8]) -> Result<(), GlobalError>;
    /// Takes the key's lock, waiting until `deadline` at most.
    fn lock(
        &self,
        user: &str,
        key: &str,
        mode: LockMode,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn GlobalLock>, GlobalError>;
}

/// The global tier in files: `DIR/<user>/<hash of key>.value` and `.lock`.
/// Keys are hashed for file names (a key may be up to 1023 bytes and hold
/// any character); users are already plain names.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    dir: PathBuf,
}

impl EmbeddedStore {
    pub fn new(dir: impl Into<PathBuf>) -> EmbeddedStore {
        EmbeddedStore { dir: dir.into() }
    }

    fn path(&self, user: &str, key: &str, ext: &str) -> PathBuf {
        let hash = blake3::hash(key.as_bytes()).to_hex();
        self.dir.join(user).join(format!("{hash}.{ext}"))
    }
}

#[derive(Debug)]
struct FileLock(#[allow(dead_code)] std::fs::File);

impl GlobalLock for FileLock {}

/// How often a waiting locker tries again.
const LOCK_POLL: Duration = Duration::from_millis(1);

impl GlobalStore for EmbeddedStore {
    fn get(&self, user: &str, key: &str) -> Result<Option<Vec<u8>>, GlobalError> {
        match std::fs::read(self.path(user, key, "value")) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn set(&self, user: &str, key: &str, value: &[u8]) -> Result<(), GlobalError> {
        let path = self.path(user, key, "value");
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
        std::fs::write(&tmp, value)?;
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        Ok(())
    }

    fn lock(
        &self,
        user: &str,
        key: &str,
        mode: LockMode,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn GlobalLock>, GlobalError> {
        use rustix::fs::FlockOperation as Op;
        let path = self.path(user, key, "lock");
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        let op = match mode {
            LockMode::Read => Op::NonBlockingLockShared,
            LockMode::Write => Op::NonBlockingLockExclusive,
        };
        loop {
            match rustix::fs::flock(&file, op) {
                Ok(()) => return Ok(Box::new(FileLock(file))),
                Err(rustix::io::Errno::WOULDBLOCK) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(GlobalError::DeadlinePassed);
            }
            std::thread::sleep(LOCK_POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> EmbeddedStore {
        let dir = std::env::temp_dir().join(format!("faasm-global-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        EmbeddedStore::new(dir)
    }

    #[test]
    fn values_persist_per_user_and_key() {
        let s = store("values");
        assert_eq!(s.get("u", "k").unwrap(), None);
        s.set("u", "k", b"one").unwrap();
        s.set("u", "k", b"two").unwrap();
        s.set("v", "k", b"other user").unwrap();
        s.set("u", &"x".repeat(1023), b"long key").unwrap();
        // A second handle (another process) sees the same.
        let again = EmbeddedStore::new(s.dir.clone());
        assert_eq!(again.get("u", "k").unwrap().unwrap(), b"two");
        assert_eq!(again.get("v", "k").unwrap().unwrap(), b"other user");
        assert_eq!(
            again.get("u", &"x".repeat(1023)).unwrap().unwrap(),
            b"long key"
        );
    }

    #[test]
    fn locks_exclude_writers_and_expire_at_the_deadline() {
        let s = store("locks");
        let w = s.lock("u", "k", LockMode::Write, None).unwrap();
        let soon = Some(Instant::now() + Duration::from_millis(30));
        assert!(matches!(
            s.lock("u", "k", LockMode::Read, soon),
            Err(GlobalError::DeadlinePassed)
        ));
        // Another key is independent.
        let _other = s.lock("u", "k2", LockMode::Write, None).unwrap();
        drop(w);
        let r1 = s.lock("u", "k", LockMode::Read, None).unwrap();
        let _r2 = s.lock("u", "k", LockMode::Read, None).unwrap();
        let soon = Some(Instant::now() + Duration::from_millis(30));
        assert!(s.lock("u", "k", LockMode::Write, soon).is_err());
        drop(r1);
    }
}
