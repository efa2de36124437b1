//! Stops a call that runs too long (a miscompiled loop must not hang the
//! whole suite): one watchdog thread per file interrupts the instance of the
//! call in progress once its deadline passes.

use faasm_runtime::InterruptHandle;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    armed: Option<(Instant, InterruptHandle)>,
    /// Set when the armed call was interrupted.
    fired: bool,
    stop: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

pub struct Watchdog {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    pub fn new() -> Watchdog {
        let shared: Shared = Arc::default();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("faasm-spec-watchdog".into())
            .spawn(move || watch(&s))
            .ok();
        Watchdog { shared, thread }
    }

    /// Interrupts through `handle` unless [`Armed::disarm`] comes within
    /// `timeout`.
    pub fn arm(&self, handle: InterruptHandle, timeout: Duration) -> Armed<'_> {
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        st.armed = Some((Instant::now() + timeout, handle));
        st.fired = false;
        cv.notify_all();
        Armed { dog: self }
    }
}

impl Default for Watchdog {
    fn default() -> Self {
        Watchdog::new()
    }
}

/// An armed deadline; disarmed on drop.
pub struct Armed<'a> {
    dog: &'a Watchdog,
}

impl Armed<'_> {
    /// Disarms and reports whether the deadline had already fired.
    pub fn disarm(self) -> bool {
        let (lock, _) = &*self.dog.shared;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        st.armed = None;
        std::mem::take(&mut st.fired)
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        let (lock, _) = &*self.dog.shared;
        lock.lock().unwrap_or_else(|e| e.into_inner()).armed = None;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        {
            let (lock, cv) = &*self.shared;
            lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(shared: &Shared) {
    let (lock, cv) = &**shared;
    let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if st.stop {
            return;
        }
        let wait = match &st.armed {
            None => None,
            Some((deadline, handle)) => {
                let now = Instant::now();
                if now >= *deadline {
                    let h = handle.clone();
                    // The runtime may not implement interrupts yet; a panic
                    // here must not take the watchdog (or the report) down.
                    let _ =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.interrupt()));
                    st.armed = None;
                    st.fired = true;
                    continue;
                }
                Some(*deadline - now)
            }
        };
        st = match wait {
            None => cv.wait(st).unwrap_or_else(|e| e.into_inner()),
            Some(d) => cv.wait_timeout(st, d).unwrap_or_else(|e| e.into_inner()).0,
        };
    }
}
