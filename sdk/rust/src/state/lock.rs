//! RAII guards for the state locks.

use crate::{Error, name, sys};
use std::ffi::CString;

/// Which of the four locks of a key a guard holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    GlobalRead,
    GlobalWrite,
}

/// A held state lock; dropping it unlocks. The host also releases locks
/// still held when a call ends, so a panicking function cannot leave one
/// behind.
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct StateLock {
    key: CString,
    kind: Kind,
}

/// Takes `key`'s local lock for reading (shared with other readers),
/// waiting while a writer holds it.
pub fn lock_read(key: &str) -> Result<StateLock, Error> {
    StateLock::take(key, Kind::Read)
}

/// Takes `key`'s local lock for writing (exclusive), waiting for everyone
/// else to release it.
pub fn lock_write(key: &str) -> Result<StateLock, Error> {
    StateLock::take(key, Kind::Write)
}

/// Takes `key`'s global-tier lock for reading. On one host the global tier
/// behaves like the local one, but it is a separate lock.
pub fn lock_global_read(key: &str) -> Result<StateLock, Error> {
    StateLock::take(key, Kind::GlobalRead)
}

/// Takes `key`'s global-tier lock for writing.
pub fn lock_global_write(key: &str) -> Result<StateLock, Error> {
    StateLock::take(key, Kind::GlobalWrite)
}

impl StateLock {
    fn take(key: &str, kind: Kind) -> Result<StateLock, Error> {
        let key = name::key(key)?;
        let ptr = key.as_ptr().cast();
        // SAFETY: key is NUL-terminated and outlives the call.
        unsafe {
            match kind {
                Kind::Read => sys::__faasm_lock_state_read(ptr),
                Kind::Write => sys::__faasm_lock_state_write(ptr),
                Kind::GlobalRead => sys::__faasm_lock_state_global_read(ptr),
                Kind::GlobalWrite => sys::__faasm_lock_state_global_write(ptr),
            }
        }
        Ok(StateLock { key, kind })
    }

    /// The locked key.
    pub fn key(&self) -> &str {
        // Built from a &str in `take`, so always UTF-8.
        self.key.to_str().unwrap_or_default()
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let ptr = self.key.as_ptr().cast();
        // SAFETY: key is NUL-terminated; this guard holds exactly this lock,
        // so the host's "unlock of a lock not held" trap cannot fire.
        unsafe {
            match self.kind {
                Kind::Read => sys::__faasm_unlock_state_read(ptr),
                Kind::Write => sys::__faasm_unlock_state_write(ptr),
                Kind::GlobalRead => sys::__faasm_unlock_state_global_read(ptr),
                Kind::GlobalWrite => sys::__faasm_unlock_state_global_write(ptr),
            }
        }
    }
}
