//! Stopping running wasm from another thread.
//!
//! Compiled code polls one word of its instance context (at every function
//! entry and loop header) and traps with `TrapKind::Interrupt` when it is
//! set; `memory.atomic.wait` watches the same word while it sleeps. An
//! [`InterruptHandle`] sets that word for a *group* of instances: every
//! instance joins a group when it is created, before its element and data
//! segments and its start function run, so an embedder that makes the
//! handle first (for a call's timeout, say) also stops a start function,
//! and every thread instance of one call can share one handle.
//!
//! Invariant: once [`InterruptHandle::interrupt`] has returned, every
//! member, including one joining later, has its word set until
//! [`InterruptHandle::clear`]. Joining and firing both take the member
//! lock, so neither can miss the other.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// What the group needs of a member (an instance): the flag its compiled
/// code checks at function entries and loop headers.
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

    /// Stops the group: running code traps with `TrapKind::Interrupt` at its
    /// next function entry or loop header, a `memory.atomic.wait` returns
    /// that trap at once, and so does any later call (or instantiation
    /// into the group) until [`InterruptHandle::clear`].
    pub fn interrupt(&self) {
        self.group.fired.store(true, Ordering::SeqCst);
        for m in self.live_members() {
            m.interrupt_flag().store(1, Ordering::Release);
        }
        crate::vm::waiter::wake_for_interrupt();
    }

    /// Lets the group's instances run again.
    pub fn clear(&self) {
        self.group.fired.store(false, Ordering::SeqCst);
        for m in self.live_members() {
            m.interrupt_flag().store(0, Ordering::Release);
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
            instance.interrupt_flag().store(1, Ordering::Release);
        }
    }

    fn live_members(&self) -> Vec<Arc<dyn Member>> {
        self.lock().iter().filter_map(Weak::upgrade).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<dyn Member>>> {
        self.group.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}
