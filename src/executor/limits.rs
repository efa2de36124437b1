//! Per-call limits and the watchdog that enforces the wall-clock one.
//!
//! One watchdog thread per executor sleeps until the earliest deadline and
//! interrupts that call's instance (a signal stops its thread in compiled
//! code; see faasm_runtime::InterruptHandle). Blocking host calls check the deadline
//! themselves, so a call blocked in `await_call` also ends on time.

use faasm_runtime::InterruptHandle;
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The limits every call of an executor gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time per call (`None`: unlimited).
    pub timeout: Option<Duration>,
    /// Bytes of output (`write_output`, or captured stdout).
    pub max_output: usize,
    /// Bytes of linear memory per Faaslet (rounded down to whole pages;
    /// `None`: the module's own maximum, at most 4 GiB).
    pub max_memory: Option<u64>,
    /// Compile time of one uploaded module (see
    /// `faasm_runtime::Config::compile_time_limit`).
    pub compile_time: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Some(Duration::from_secs(60)),
            max_output: faasm_hostif::faasm::DEFAULT_OUTPUT_LIMIT,
            max_memory: None,
            compile_time: faasm_runtime::Config::default().compile_time_limit,
        }
    }
}

#[derive(Default)]
struct State {
    /// `(deadline, sequence number)` → what to interrupt.
    entries: BTreeMap<(Instant, u64), InterruptHandle>,
    next: u64,
    /// When the watchdog thread will look again by itself (`None`: only
    /// when notified). A deadline after it needs no wake-up: the thread
    /// will find it then, so a steady stream of calls costs no futex
    /// round trip each.
    wake_at: Option<Instant>,
    thread_started: bool,
    shutdown: bool,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    changed: Condvar,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Interrupts instances whose deadline passed.
#[derive(Default)]
pub struct Watchdog {
    inner: Arc<Inner>,
}

/// Unregisters its instance when dropped.
pub struct Watch {
    inner: Arc<Inner>,
    key: (Instant, u64),
}

impl Drop for Watch {
    fn drop(&mut self) {
        lock(&self.inner.state).entries.remove(&self.key);
    }
}

impl Watchdog {
    /// Interrupts `handle` at `deadline` unless the returned guard is
    /// dropped first.
    pub fn watch(&self, deadline: Instant, handle: InterruptHandle) -> Watch {
        let mut st = lock(&self.inner.state);
        let key = (deadline, st.next);
        st.next += 1;
        let wake = st.wake_at.is_none_or(|w| deadline < w);
        st.entries.insert(key, handle);
        if !st.thread_started {
            st.thread_started = true;
            let inner = self.inner.clone();
            // If the thread cannot start, timeouts still hold for blocking
            // host calls; loops would run on. Nothing better to do here.
            let _ = std::thread::Builder::new()
                .name("faasm-watchdog".into())
                .spawn(move || run(inner));
        }
        drop(st);
        if wake {
            self.inner.changed.notify_one();
        }
        Watch {
            inner: self.inner.clone(),
            key,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        lock(&self.inner.state).shutdown = true;
        self.inner.changed.notify_one();
    }
}

fn run(inner: Arc<Inner>) {
    let mut st = lock(&inner.state);
    loop {
        if st.shutdown {
            return;
        }
        let now = Instant::now();
        while let Some((&key, _)) = st.entries.iter().next()
            && key.0 <= now
        {
            if let Some(h) = st.entries.remove(&key) {
                h.interrupt();
            }
        }
        let next = st.entries.keys().next().map(|&(d, _)| d);
        st.wake_at = next;
        st = match next {
            Some(d) => {
                let wait = d.saturating_duration_since(now);
                inner
                    .changed
                    .wait_timeout(st, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => inner.changed.wait(st).unwrap_or_else(|e| e.into_inner()),
        };
    }
}
