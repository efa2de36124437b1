//! Which thread runs which instance, and the signal that stops it.
//!
//! Compiled code does not poll for interrupts (unless compiled with
//! `poll_interrupts`): to stop running wasm, another thread sends
//! [`INTERRUPT_SIGNAL`] to the thread that runs it, and the handler in
//! `signals.rs` moves that thread to the trap landing if it is executing
//! compiled code of an entry whose interrupt word is set.
//!
//! To know where to send it, every thread that enters wasm registers a
//! [`ThreadSlot`] once (removed when the thread exits) and publishes in it,
//! for each entry, an *entry id*: the address of the entered instance's
//! interrupt word, an address no other live instance shares. The slot
//! holds a number, never a pointer another thread follows, so a slot read
//! just as its call ends is harmless.
//!
//! Invariants:
//! - A thread's published id is that of its innermost entry (restored on
//!   return), or 0 outside wasm.
//! - Publishing an id and then reading the interrupt word (the entry), and
//!   setting the word and then reading the ids ([`kick`]), are all
//!   sequentially consistent, so a call that starts while its instance is
//!   being interrupted either sees the word or is signalled.
//! - [`kick`] signals under the registry lock, and a thread removes its
//!   slot under the same lock before it exits, so a signalled thread id is
//!   always one of this process's live threads.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The signal that stops a thread running compiled wasm. SIGURG, as Go's
/// scheduler uses for preemption: ignored by default, so a stray one is
/// harmless, and otherwise used only for out-of-band socket data, which
/// the handler tells apart by its sender (see `signals.rs`).
pub const INTERRUPT_SIGNAL: libc::c_int = libc::SIGURG;

/// A registered thread.
struct ThreadSlot {
    tid: libc::pid_t,
    /// Entry id of the thread's innermost wasm entry, 0 outside wasm.
    entry: AtomicUsize,
}

static THREADS: Mutex<Vec<Arc<ThreadSlot>>> = Mutex::new(Vec::new());

fn threads() -> MutexGuard<'static, Vec<Arc<ThreadSlot>>> {
    THREADS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the thread's slot when the thread exits.
struct Registration(Arc<ThreadSlot>);

impl Drop for Registration {
    fn drop(&mut self) {
        SLOT.with(|s| s.set(std::ptr::null()));
        threads().retain(|t| !Arc::ptr_eq(t, &self.0));
    }
}

thread_local! {
    /// This thread's slot (null before the first entry and after exit).
    static SLOT: Cell<*const ThreadSlot> = const { Cell::new(std::ptr::null()) };
    static REGISTRATION: RefCell<Option<Registration>> = const { RefCell::new(None) };
}

fn slot() -> Option<&'static ThreadSlot> {
    let mut p = SLOT.with(|s| s.get());
    if p.is_null() {
        let slot = Arc::new(ThreadSlot {
            // SAFETY: gettid has no preconditions.
            tid: unsafe { libc::gettid() },
            entry: AtomicUsize::new(0),
        });
        // During thread teardown the registration cannot be stored: such a
        // late entry is then not signalled (its interrupt word still stops
        // it at a host-call return or a polled loop).
        let stored = REGISTRATION.try_with(|r| {
            *r.borrow_mut() = Some(Registration(slot.clone()));
        });
        if stored.is_err() {
            return None;
        }
        threads().push(slot.clone());
        p = Arc::as_ptr(&slot);
        SLOT.with(|s| s.set(p));
    }
    // SAFETY: the slot is kept alive by this thread's registration until
    // the thread exits, which clears SLOT first.
    Some(unsafe { &*p })
}

/// Publishes `entry` as this thread's innermost entry; returns the value to
/// give back to [`restore`] when the entry returns.
pub fn publish(entry: usize) -> usize {
    slot().map_or(0, |s| s.entry.swap(entry, Ordering::SeqCst))
}

/// Undoes a [`publish`]. Needs no full fence: an interrupter that still
/// sees the old id only sends a signal the handler then ignores.
pub fn restore(previous: usize) {
    if let Some(s) = slot() {
        s.entry.store(previous, Ordering::Release);
    }
}

/// Sends [`INTERRUPT_SIGNAL`] to every thread whose innermost entry is one
/// of `entries`; returns how many were signalled.
pub fn kick(entries: &[usize]) -> usize {
    if entries.is_empty() {
        return 0;
    }
    let all = threads();
    let mut sent = 0;
    for t in all.iter() {
        let e = t.entry.load(Ordering::SeqCst);
        if e != 0 && entries.contains(&e) {
            // SAFETY: tgkill with our own process id and the id of a live
            // thread of it (the registry lock keeps it from exiting).
            let r =
                unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), t.tid, INTERRUPT_SIGNAL) };
            if r == 0 {
                sent += 1;
            }
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_nests_and_only_matching_threads_are_counted() {
        let outer = publish(0x1000);
        let inner = publish(0x2000);
        assert_eq!(inner, 0x1000);
        // Not published anywhere: nobody to signal.
        assert_eq!(kick(&[0x3000]), 0);
        restore(inner);
        assert_eq!(slot().unwrap().entry.load(Ordering::SeqCst), 0x1000);
        restore(outer);
        assert_eq!(slot().unwrap().entry.load(Ordering::SeqCst), outer);
    }

    #[test]
    fn an_exited_thread_leaves_the_registry() {
        let tid = std::thread::spawn(|| {
            publish(0x5000);
            restore(0);
            slot().unwrap().tid
        })
        .join()
        .unwrap();
        assert!(threads().iter().all(|t| t.tid != tid));
    }
}
