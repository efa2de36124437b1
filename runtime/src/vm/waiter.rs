//! `memory.atomic.wait` / `memory.atomic.notify`: a process-wide parking lot.
//!
//! Waiters are keyed by the native address of the word they wait on; shared
//! memories never move, so that address names the location for every
//! thread. The word is compared under the bucket lock that `notify` also
//! takes, so a wake-up between the comparison and the sleep cannot be lost.
//!
//! A waiter also watches its instance's interrupt word: an interrupt sets
//! that word and then wakes every bucket under its lock
//! ([`wake_for_interrupt`]), and a waiter reads the word under the same lock
//! before each sleep, so an interrupted wait ends at once rather than at its
//! (possibly infinite) timeout.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const BUCKETS: usize = 64;

struct Waiter {
    addr: usize,
    id: u64,
    woken: bool,
}

struct Bucket {
    waiters: Mutex<Vec<Waiter>>,
    wake: Condvar,
}

static LOT: [Bucket; BUCKETS] = [const {
    Bucket {
        waiters: Mutex::new(Vec::new()),
        wake: Condvar::new(),
    }
}; BUCKETS];

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn bucket(addr: usize) -> &'static Bucket {
    &LOT[(addr >> 2) % BUCKETS]
}

fn lock(b: &Bucket) -> MutexGuard<'_, Vec<Waiter>> {
    b.waiters.lock().unwrap_or_else(|e| e.into_inner())
}

/// The value a waiter compares against, read atomically.
pub(crate) enum Expected {
    U32(u32),
    U64(u64),
}

/// Outcome codes of `memory.atomic.wait`.
pub(crate) const WOKEN: i64 = 0;
pub(crate) const NOT_EQUAL: i64 = 1;
pub(crate) const TIMED_OUT: i64 = 2;
/// Not a wasm outcome: the instance was interrupted while waiting.
pub(crate) const INTERRUPTED: i64 = -1;

/// Blocks the calling thread until notified, `timeout_ns` (negative:
/// forever) elapses, or `interrupt` is set ([`INTERRUPTED`]).
///
/// # Safety
/// `ptr` must point to a live, naturally aligned word of the expected width
/// inside a shared memory.
pub(crate) unsafe fn wait(
    ptr: *mut u8,
    expected: Expected,
    timeout_ns: i64,
    interrupt: &AtomicU64,
) -> i64 {
    let addr = ptr as usize;
    let b = bucket(addr);
    let mut waiters = lock(b);
    if interrupt.load(Ordering::Acquire) != 0 {
        return INTERRUPTED;
    }
    // SAFETY: the caller guarantees an aligned, live word; other threads
    // access it only atomically or through wasm code.
    let equal = unsafe {
        match expected {
            Expected::U32(v) => AtomicU32::from_ptr(ptr.cast()).load(Ordering::SeqCst) == v,
            Expected::U64(v) => AtomicU64::from_ptr(ptr.cast()).load(Ordering::SeqCst) == v,
        }
    };
    if !equal {
        return NOT_EQUAL;
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    waiters.push(Waiter {
        addr,
        id,
        woken: false,
    });
    let deadline =
        (timeout_ns >= 0).then(|| Instant::now() + Duration::from_nanos(timeout_ns as u64));
    loop {
        let pos = waiters.iter().position(|w| w.id == id).expect("own entry");
        if waiters[pos].woken {
            waiters.swap_remove(pos);
            return WOKEN;
        }
        if interrupt.load(Ordering::Acquire) != 0 {
            waiters.swap_remove(pos);
            return INTERRUPTED;
        }
        match deadline {
            None => waiters = b.wake.wait(waiters).unwrap_or_else(|e| e.into_inner()),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    waiters.swap_remove(pos);
                    return TIMED_OUT;
                }
                waiters = b
                    .wake
                    .wait_timeout(waiters, d - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
    }
}

/// Wakes up to `count` waiters on `ptr`; returns how many were woken.
pub(crate) fn notify(ptr: *mut u8, count: u32) -> i64 {
    let addr = ptr as usize;
    let b = bucket(addr);
    let mut waiters = lock(b);
    let mut woken = 0u32;
    for w in waiters.iter_mut().filter(|w| w.addr == addr && !w.woken) {
        if woken == count {
            break;
        }
        w.woken = true;
        woken += 1;
    }
    if woken > 0 {
        b.wake.notify_all();
    }
    woken as i64
}

/// Wakes every waiter so that interrupted ones notice their interrupt word
/// (the others go back to sleep). Called after the word is set.
pub(crate) fn wake_for_interrupt() {
    for b in &LOT {
        // Taking the lock orders this wake-up after any waiter's check of
        // its word, so the waiter is either already asleep or sees it set.
        let _waiters = lock(b);
        b.wake.notify_all();
    }
}
