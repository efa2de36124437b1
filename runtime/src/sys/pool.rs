//! A small process-wide pool of guarded linear-memory reservations.
//!
//! Reserving (and later unmapping) 4 GiB plus guard costs far more than
//! resetting a used reservation, and serverless workloads create and drop
//! instances constantly. A released reservation is reset (contents
//! discarded, everything inaccessible) before it enters the pool, so a
//! reused one is indistinguishable from a fresh one.

use super::mmap::Mmap;
use std::sync::Mutex;

/// Reservations kept for reuse; the rest are unmapped.
const CAPACITY: usize = 32;

static POOL: Mutex<Vec<Mmap>> = Mutex::new(Vec::new());

/// A pooled reservation of exactly `len` bytes, if any.
pub fn take(len: usize) -> Option<Mmap> {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let i = pool.iter().position(|m| m.len() == len)?;
    Some(pool.swap_remove(i))
}

/// Returns a reservation whose first `used` bytes may have been accessible.
/// It is reset first; if that fails or the pool is full it is unmapped.
pub fn give(map: Mmap, used: usize) {
    if map.is_empty() || map.reset_prefix(used).is_err() {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < CAPACITY {
        pool.push(map);
    }
}
