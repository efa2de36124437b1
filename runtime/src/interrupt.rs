//! Stopping running wasm from another thread.
//!
//! Every instance has an interrupt word in its context. An
//! [`InterruptHandle`] sets that word for a *group* of instances and then
//! signals the threads running code entered through one of them
//! (`sys::preempt`); the signal handler moves such a thread to its trap
//! landing with `TrapKind::Interrupt` if it is executing compiled code.
//! Compiled code therefore pays nothing for being stoppable. Where the
//! signal cannot stop it at once (the thread was in host code or a
//! builtin), the host-call dispatcher checks the word before returning to
//! wasm, `memory.atomic.wait` watches it while it sleeps, and a background
//! thread signals again, with growing gaps, until the call has ended. A
//! call entered while the word is set traps at once. Code compiled with
//! `poll_interrupts` also polls the word at loop headers and function
//! entries, as every module did before the signal existed.
//!
//! Every instance joins a group when it is created, before its element
//! and data segments and its start function run, so an embedder that
//! makes the handle first (for a call's timeout, say) also stops a start
//! function, and every thread instance of one call can share one handle.
//!
//! Invariant: once [`InterruptHandle::interrupt`] has returned, every
//! member, including one joining later, has its word set until
//! [`InterruptHandle::clear`]. Joining and firing both take the member
//! lock, so neither can miss the other.
//!
//! What a signal does not reach: code of a group member that a thread runs
//! through *another* instance's entry (a direct import of a function of an
//! instance in another group). It stops when control returns to a host
//! call of an interrupted instance, or at a polled loop.

use crate::sys::preempt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// What the group needs of a member (an instance): its interrupt word,
/// whose address is also the id its entries publish (`sys::preempt`).
pub(crate) trait Member: Send + Sync {
    fn interrupt_flag(&self) -> &std::sync::atomic::AtomicU64;
}

/// Stops the wasm code of a group of instances, from any thread. Cheap to
/// clone (clones are the same group).
#[derive(Clone, Default)]
pub struct InterruptHandle {
    group: Arc<Group>,
}

#[derive(Default)]
struct Group {
    fired: AtomicBool,
    members: Mutex<Vec<Weak<dyn Member>>>,
}

impl std::fmt::Debug for InterruptHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterruptHandle")
            .field("interrupted", &self.is_interrupted())
            .finish_non_exhaustive()
    }
}

impl InterruptHandle {
    /// A handle with no instances yet: pass it to
    /// [`crate::Linker::instantiate_opts`] to watch an instance from its
    /// first instruction on.
    pub fn new() -> InterruptHandle {
        InterruptHandle::default()
    }

    /// Stops the group: running code traps with `TrapKind::Interrupt`
    /// within microseconds (a signal to its thread; or when its host call
    /// returns), a `memory.atomic.wait` returns that trap at once, and so
    /// does any later call (or instantiation into the group) until
    /// [`InterruptHandle::clear`].
    pub fn interrupt(&self) {
        self.group.fired.store(true, Ordering::SeqCst);
        let members = self.live_members();
        for m in &members {
            m.interrupt_flag().store(1, Ordering::SeqCst);
        }
        crate::vm::waiter::wake_for_interrupt();
        if preempt::kick(&entry_ids(&members)) > 0 {
            // Some may have been in host code: try again until they are out.
            resend::watch(Arc::downgrade(&self.group));
        }
    }

    /// Lets the group's instances run again.
    pub fn clear(&self) {
        self.group.fired.store(false, Ordering::SeqCst);
        for m in self.live_members() {
            m.interrupt_flag().store(0, Ordering::SeqCst);
        }
    }

    /// Whether an interrupt was fired and not reset since.
    pub fn is_interrupted(&self) -> bool {
        self.group.fired.load(Ordering::SeqCst)
    }

    /// Whether two handles stop the same group.
    pub fn same(&self, other: &InterruptHandle) -> bool {
        Arc::ptr_eq(&self.group, &other.group)
    }

    /// Adds a new instance (before any of its code runs); it starts out
    /// interrupted if the group is.
    pub(crate) fn join<M: Member + 'static>(&self, instance: &Arc<M>) {
        let mut members = self.lock();
        members.retain(|w| w.strong_count() > 0);
        let weak: Weak<dyn Member> = Arc::downgrade(instance) as Weak<M>;
        members.push(weak);
        if self.group.fired.load(Ordering::SeqCst) {
            instance.interrupt_flag().store(1, Ordering::SeqCst);
        }
    }

    fn live_members(&self) -> Vec<Arc<dyn Member>> {
        self.lock().iter().filter_map(Weak::upgrade).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<dyn Member>>> {
        self.group.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The ids entries into `members` publish.
fn entry_ids(members: &[Arc<dyn Member>]) -> Vec<usize> {
    members
        .iter()
        .map(|m| m.interrupt_flag() as *const std::sync::atomic::AtomicU64 as usize)
        .collect()
}

/// The background thread that signals interrupted groups again while some
/// thread still runs code entered through one of their members: a signal
/// that found its thread in host code or a builtin was ignored, and the
/// thread may go back into a loop that never calls out.
mod resend {
    use super::*;

    /// First gap after the first signal; each later one doubles, up to
    /// [`MAX_GAP`] (a thread blocked in a long host call is not woken
    /// more often than that).
    const FIRST_GAP: Duration = Duration::from_micros(500);
    const MAX_GAP: Duration = Duration::from_millis(50);

    struct Pending {
        group: Weak<Group>,
        gap: Duration,
        due: Instant,
    }

    #[derive(Default)]
    struct Queue {
        pending: Vec<Pending>,
        thread_started: bool,
    }

    static QUEUE: Mutex<Queue> = Mutex::new(Queue {
        pending: Vec::new(),
        thread_started: false,
    });
    static CHANGED: Condvar = Condvar::new();

    fn queue() -> std::sync::MutexGuard<'static, Queue> {
        QUEUE.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn watch(group: Weak<Group>) {
        let mut q = queue();
        if q.pending.iter().any(|p| p.group.ptr_eq(&group)) {
            return;
        }
        q.pending.push(Pending {
            group,
            gap: FIRST_GAP,
            due: Instant::now() + FIRST_GAP,
        });
        if !q.thread_started {
            let spawned = std::thread::Builder::new()
                .name("faasm-interrupt".into())
                .spawn(run);
            // Without the thread, an interrupt still stops compiled code
            // that the first signal found, and every host-call return.
            q.thread_started = spawned.is_ok();
        }
        CHANGED.notify_one();
    }

    fn run() {
        let mut q = queue();
        loop {
            let now = Instant::now();
            q.pending.retain_mut(|p| {
                if p.due > now {
                    return true;
                }
                let Some(group) = p.group.upgrade() else {
                    return false;
                };
                if !group.fired.load(Ordering::SeqCst) {
                    return false;
                }
                let handle = InterruptHandle { group };
                if preempt::kick(&entry_ids(&handle.live_members())) == 0 {
                    return false;
                }
                p.gap = (p.gap * 2).min(MAX_GAP);
                p.due = now + p.gap;
                true
            });
            q = match q.pending.iter().map(|p| p.due).min() {
                None => CHANGED.wait(q).unwrap_or_else(|e| e.into_inner()),
                Some(due) => {
                    let wait = due.saturating_duration_since(Instant::now());
                    CHANGED
                        .wait_timeout(q, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}
