//! Interrupts a faasm call that runs past its deadline, through the
//! instance's interrupt flag (compiled loop headers check it). One thread
//! per watchdog; arming is cheap.

use faasm_runtime::InterruptHandle;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Slot {
    armed: Option<(Instant, InterruptHandle)>,
    fired: bool,
    quit: bool,
}

type Shared = Arc<(Mutex<Slot>, Condvar)>;

pub struct Watchdog {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

impl Default for Watchdog {
    fn default() -> Self {
        Watchdog::new()
    }
}

impl Watchdog {
    pub fn new() -> Watchdog {
        let shared: Shared = Arc::default();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("faasm-fuzz-watchdog".into())
            .spawn(move || run(&s))
            .expect("spawn watchdog thread");
        Watchdog {
            shared,
            thread: Some(thread),
        }
    }

    /// Runs `f`, interrupting `handle`'s instance if it takes longer than
    /// `timeout`. Returns `f`'s value and whether the interrupt fired (the
    /// flag is cleared again so the instance can be called afterwards).
    pub fn run<R>(
        &self,
        handle: &InterruptHandle,
        timeout: Duration,
        f: impl FnOnce() -> R,
    ) -> (R, bool) {
        let (lock, cv) = &*self.shared;
        {
            let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
            s.armed = Some((Instant::now() + timeout, handle.clone()));
            s.fired = false;
            cv.notify_all();
        }
        let r = f();
        let fired = {
            let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
            s.armed = None;
            std::mem::take(&mut s.fired)
        };
        if fired {
            handle.clear();
        }
        (r, fired)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        {
            let (lock, cv) = &*self.shared;
            lock.lock().unwrap_or_else(|e| e.into_inner()).quit = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(shared: &Shared) {
    let (lock, cv) = &**shared;
    let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if s.quit {
            return;
        }
        let wait = match &s.armed {
            None => None,
            Some((deadline, handle)) => {
                let now = Instant::now();
                if now >= *deadline {
                    handle.interrupt();
                    s.armed = None;
                    s.fired = true;
                    continue;
                }
                Some(*deadline - now)
            }
        };
        s = match wait {
            None => cv.wait(s).unwrap_or_else(|e| e.into_inner()),
            Some(d) => cv.wait_timeout(s, d).unwrap_or_else(|e| e.into_inner()).0,
        };
    }
}
