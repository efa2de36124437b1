//! Call records: who made each call, whether it is done, and its result.
//!
//! A record lives while its caller may still await it: when a call
//! finishes, the records of the calls it made are dropped (their results
//! stay reachable through the slots the running calls hold). Root calls
//! (made by the embedder) have no record; their handle holds the slot.

use faasm_hostif::faasm::{CallId, CallResult};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Run once with a call's result, on the thread that finished it.
pub type OnDone = Box<dyn FnOnce(Arc<CallResult>) + Send>;

/// Where a call's result appears.
#[derive(Default)]
pub struct Slot {
    status: Mutex<Status>,
    done: Condvar,
    /// Threads in [`Slot::wait`] (under `status`'s lock): without any,
    /// finishing makes no wake-up call to the kernel.
    waiters: AtomicUsize,
    /// Callbacks instead of a blocked waiter: an async embedder (the HTTP
    /// server) must not park one of its threads per call.
    on_done: Mutex<Vec<OnDone>>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Clone)]
pub enum Status {
    #[default]
    Queued,
    Running,
    Done(Arc<CallResult>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Slot {
    pub fn status(&self) -> Status {
        lock(&self.status).clone()
    }

    pub fn set_running(&self) {
        let mut st = lock(&self.status);
        if matches!(*st, Status::Queued) {
            *st = Status::Running;
        }
    }

    /// Records the result (the first one wins) and wakes the waiters.
    pub fn finish(&self, result: CallResult) {
        let mut st = lock(&self.status);
        if !matches!(*st, Status::Done(_)) {
            *st = Status::Done(Arc::new(result));
        }
        let Status::Done(r) = &*st else {
            unreachable!("set just above")
        };
        let r = r.clone();
        let waiting = self.waiters.load(Ordering::Relaxed) > 0;
        drop(st);
        if waiting {
            self.done.notify_all();
        }
        // Taken after the status is Done: `on_done` holds this lock while
        // it checks the status, so every callback runs exactly once.
        let callbacks = std::mem::take(&mut *lock(&self.on_done));
        for f in callbacks {
            f(r.clone());
        }
    }

    /// Runs `f` with the result once there is one: now (on this thread)
    /// if the call is done, else on the thread that finishes it.
    pub fn on_done(&self, f: OnDone) {
        let mut callbacks = lock(&self.on_done);
        match self.result() {
            Some(r) => {
                drop(callbacks);
                f(r);
            }
            None => callbacks.push(f),
        }
    }

    /// The result if it is there.
    pub fn result(&self) -> Option<Arc<CallResult>> {
        match &*lock(&self.status) {
            Status::Done(r) => Some(r.clone()),
            _ => None,
        }
    }

    /// Waits for the result until `deadline` (forever if `None`).
    pub fn wait(&self, deadline: Option<Instant>) -> Option<Arc<CallResult>> {
        let mut st = lock(&self.status);
        loop {
            if let Status::Done(r) = &*st {
                return Some(r.clone());
            }
            let timeout = match deadline {
                None => None,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return None,
                },
            };
            // Counted while `st` is held, so `finish` (which reads the
            // count under the same lock) cannot miss this waiter.
            self.waiters.fetch_add(1, Ordering::Relaxed);
            st = match timeout {
                None => self.done.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(left) => {
                    self.done
                        .wait_timeout(st, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
            self.waiters.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

struct Record {
    caller: CallId,
    slot: Arc<Slot>,
}

#[derive(Default)]
struct Records {
    by_id: HashMap<CallId, Record>,
    /// Calls made by each call that is still running.
    children: HashMap<CallId, Vec<CallId>>,
}

/// The calls of one executor.
pub struct CallTable {
    next: AtomicU32,
    records: Mutex<Records>,
}

impl Default for CallTable {
    fn default() -> Self {
        CallTable {
            next: AtomicU32::new(1),
            records: Mutex::default(),
        }
    }
}

impl CallTable {
    /// A fresh id: unique for this executor, never 0, and positive as an
    /// i32 (guests compare it against -1 and 0).
    pub fn new_id(&self) -> CallId {
        loop {
            let id = self.next.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff;
            if id != 0 {
                return id;
            }
        }
    }

    /// Records call `id` made by `caller`.
    pub fn insert(&self, caller: CallId, id: CallId) -> Arc<Slot> {
        let slot = Arc::new(Slot::default());
        let mut r = lock(&self.records);
        r.by_id.insert(
            id,
            Record {
                caller,
                slot: slot.clone(),
            },
        );
        r.children.entry(caller).or_default().push(id);
        slot
    }

    /// The slot of `id` if `caller` made it.
    pub fn slot_for(&self, caller: CallId, id: CallId) -> Option<Arc<Slot>> {
        let r = lock(&self.records);
        r.by_id
            .get(&id)
            .filter(|rec| rec.caller == caller)
            .map(|rec| rec.slot.clone())
    }

    /// Call `id` finished: nobody can await its children any more. The
    /// ids of the records dropped (the calls it made, in order).
    pub fn finished(&self, id: CallId) -> Vec<CallId> {
        let mut r = lock(&self.records);
        let children = r.children.remove(&id).unwrap_or_default();
        for child in &children {
            r.by_id.remove(child);
        }
        children
    }

    /// Number of records (for tests: they must not pile up).
    pub fn len(&self) -> usize {
        lock(&self.records).by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn records_belong_to_their_caller_and_go_with_it() {
        let t = CallTable::default();
        let (a, b) = (t.new_id(), t.new_id());
        assert_ne!(a, b);
        let s = t.insert(a, b);
        assert!(t.slot_for(a, b).is_some());
        assert!(t.slot_for(b, b).is_none());
        assert!(t.slot_for(a, 999).is_none());
        s.finish(CallResult {
            return_code: 3,
            output: vec![],
            failed: false,
            ..CallResult::default()
        });
        assert_eq!(t.slot_for(a, b).unwrap().result().unwrap().return_code, 3);
        t.finished(a);
        assert!(t.slot_for(a, b).is_none());
        assert!(t.is_empty());
    }

    #[test]
    fn waiting_honours_the_deadline() {
        let s = Arc::new(Slot::default());
        assert!(
            s.wait(Some(Instant::now() + Duration::from_millis(10)))
                .is_none()
        );
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait(None).unwrap().return_code);
        std::thread::sleep(Duration::from_millis(10));
        s.finish(CallResult {
            return_code: 7,
            output: vec![],
            failed: false,
            ..CallResult::default()
        });
        // A second result is ignored.
        s.finish(CallResult {
            return_code: 8,
            output: vec![],
            failed: false,
            ..CallResult::default()
        });
        assert_eq!(t.join().unwrap(), 7);
        assert_eq!(s.wait(None).unwrap().return_code, 7);
    }

    #[test]
    fn callbacks_run_once_before_or_after_the_result() {
        use std::sync::atomic::AtomicI32;
        let s = Slot::default();
        let seen = Arc::new(AtomicI32::new(0));
        let add = |seen: &Arc<AtomicI32>| -> OnDone {
            let seen = seen.clone();
            Box::new(move |r: Arc<CallResult>| {
                seen.fetch_add(r.return_code, Ordering::SeqCst);
            })
        };
        s.on_done(add(&seen));
        assert_eq!(seen.load(Ordering::SeqCst), 0);
        s.finish(CallResult {
            return_code: 5,
            ..CallResult::default()
        });
        assert_eq!(seen.load(Ordering::SeqCst), 5);
        // A later result changes nothing; a later callback runs at once.
        s.finish(CallResult {
            return_code: 100,
            ..CallResult::default()
        });
        s.on_done(add(&seen));
        assert_eq!(seen.load(Ordering::SeqCst), 10);
    }
}
