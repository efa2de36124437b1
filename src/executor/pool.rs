//! The worker pool: at most `size` calls *run* at once, but a worker that
//! blocks (awaiting a chained call, waiting for a state lock) gives its
//! slot away for the duration ([`Pool::blocking`]): a queued job then
//! starts on an idle worker or a new thread. So a chain N deep or a
//! fan-out of N completes with any pool size; the executor bounds the
//! calls in flight, which bounds the threads.
//!
//! Jobs are handed to a specific worker (each idle worker waits on its own
//! mailbox), so the count of running jobs is exact at every hand-off.
//!
//! A worker that finds nothing queued after its job watches its mailbox
//! for [`WATCH`] before it sleeps, if the CPUs have time to spare
//! (`SpareCpu`, in `spare.rs`) and no other worker of the pool watches: waking a
//! sleeping thread costs the caller a system call and the call itself
//! the time the kernel takes to run the thread again (tens of µs on a
//! VM whose idle vCPUs halt), far more than a short call. So calls that
//! come one after another (one client, say) find a worker awake.

use super::spare::SpareCpu;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A unit of work. Called with `Err(message)` instead of being run when no
/// thread can be started for it, so its call still completes.
pub type Job = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Idle workers beyond the pool size exit after this long without work.
const IDLE_EXIT: Duration = Duration::from_secs(5);

/// Native stack per worker: the runtime's wasm stack limit (1 MiB by
/// default) plus room for host frames. Only touched pages cost memory.
const WORKER_STACK: usize = 8 << 20;

enum Msg {
    Run(Job),
    Exit,
}

/// How long a worker with nothing to do watches its mailbox before it
/// sleeps. It spins for that time: the cost is bounded per call, and only
/// one worker of a pool does it at once, only when the CPUs are not busy.
pub const WATCH: Duration = Duration::from_micros(150);

#[derive(Default)]
struct Mailbox {
    msg: Mutex<Letter>,
    ready: Condvar,
    /// A message is in `msg` (read without the lock by a watching worker).
    full: AtomicBool,
}

#[derive(Default)]
struct Letter {
    msg: Option<Msg>,
    /// The worker sleeps on `ready`: a message must wake it (a watching
    /// worker sees `full` by itself, without a system call).
    asleep: bool,
}

impl Mailbox {
    fn give(&self, m: Msg) {
        let mut letter = lock(&self.msg);
        letter.msg = Some(m);
        self.full.store(true, Ordering::Release);
        let asleep = letter.asleep;
        drop(letter);
        if asleep {
            self.ready.notify_one();
        }
    }

    fn take(&self) -> Option<Msg> {
        let mut letter = lock(&self.msg);
        self.full.store(false, Ordering::Relaxed);
        letter.msg.take()
    }

    /// Spins until a message comes or `until`.
    fn watch(&self, until: Instant) -> Option<Msg> {
        loop {
            for _ in 0..64 {
                if self.full.load(Ordering::Acquire) {
                    return self.take();
                }
                std::hint::spin_loop();
            }
            if Instant::now() >= until {
                return None;
            }
        }
    }
}

struct State {
    queue: VecDeque<Job>,
    idle: Vec<Arc<Mailbox>>,
    threads: usize,
    /// Jobs handed out and not blocked.
    running: usize,
    shutdown: bool,
}

struct Inner {
    size: usize,
    max_threads: usize,
    state: Mutex<State>,
    /// A worker is watching its mailbox (at most one does).
    watching: AtomicBool,
    spare: SpareCpu,
}

/// A pool of worker threads. Dropping it lets idle workers exit; running
/// jobs finish.
pub struct Pool {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// The pool the current thread works for (its address), if any.
    static WORKER_OF: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Pool {
    /// `size` jobs run at once; at most `max_threads` threads exist.
    pub fn new(size: usize, max_threads: usize) -> Pool {
        let size = size.max(1);
        Pool {
            inner: Arc::new(Inner {
                size,
                max_threads: max_threads.max(size),
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    idle: Vec::new(),
                    threads: 0,
                    running: 0,
                    shutdown: false,
                }),
                watching: AtomicBool::new(false),
                spare: SpareCpu::default(),
            }),
        }
    }

    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// Jobs running now (not blocked).
    pub fn running(&self) -> usize {
        lock(&self.inner.state).running
    }

    /// Threads currently alive (for tests and diagnostics).
    pub fn threads(&self) -> usize {
        lock(&self.inner.state).threads
    }

    pub fn submit(&self, job: Job) {
        let mut st = lock(&self.inner.state);
        st.queue.push_back(job);
        Inner::dispatch(&self.inner, &mut st);
    }

    /// Runs `wait` (which blocks) with this worker's slot given away, if
    /// the current thread is one of this pool's workers.
    pub fn blocking<T>(&self, wait: impl FnOnce() -> T) -> T {
        let me = Arc::as_ptr(&self.inner) as usize;
        if WORKER_OF.with(|w| w.get()) != me {
            return wait();
        }
        {
            let mut st = lock(&self.inner.state);
            st.running -= 1;
            Inner::dispatch(&self.inner, &mut st);
        }
        let r = wait();
        // Back to running, possibly over `size` for a moment: taking a
        // slot back must never wait, or a woken caller could deadlock
        // behind its own descendants.
        lock(&self.inner.state).running += 1;
        r
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let mut st = lock(&self.inner.state);
        st.shutdown = true;
        for m in st.idle.drain(..) {
            m.give(Msg::Exit);
        }
    }
}

impl Inner {
    /// Starts queued jobs while there are free slots.
    fn dispatch(this: &Arc<Inner>, st: &mut State) {
        while st.running < this.size && !st.queue.is_empty() {
            if let Some(mailbox) = st.idle.pop() {
                let job = st.queue.pop_front().expect("not empty");
                st.running += 1;
                mailbox.give(Msg::Run(job));
            } else if st.threads < this.max_threads {
                let job = st.queue.pop_front().expect("not empty");
                st.running += 1;
                st.threads += 1;
                if let Err(job) = Inner::spawn(this, job) {
                    st.running -= 1;
                    st.threads -= 1;
                    job(Err("cannot start a worker thread".to_string()));
                }
            } else {
                // Every thread is busy or blocked: the next one to finish
                // or block takes the job.
                break;
            }
        }
    }

    fn spawn(this: &Arc<Inner>, job: Job) -> Result<(), Job> {
        let mailbox = Arc::new(Mailbox::default());
        lock(&mailbox.msg).msg = Some(Msg::Run(job));
        let pool = this.clone();
        let mb = mailbox.clone();
        let spawned = std::thread::Builder::new()
            .name("faasm-worker".into())
            .stack_size(WORKER_STACK)
            .spawn(move || Inner::work(pool, mb));
        match spawned {
            Ok(_) => Ok(()),
            Err(_) => match mailbox.take() {
                Some(Msg::Run(job)) => Err(job),
                _ => Ok(()),
            },
        }
    }

    fn work(pool: Arc<Inner>, mailbox: Arc<Mailbox>) {
        WORKER_OF.with(|w| w.set(Arc::as_ptr(&pool) as usize));
        let mut next = mailbox.take();
        loop {
            let ran = match next.take() {
                Some(Msg::Run(job)) => {
                    // A panicking job must not take the worker (and the
                    // pool's counts) with it.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(()))));
                    true
                }
                Some(Msg::Exit) => {
                    lock(&pool.state).threads -= 1;
                    return;
                }
                None => false,
            };
            let mut st = lock(&pool.state);
            if ran {
                st.running -= 1;
            }
            // Take queued work directly if a slot is free.
            if st.running < pool.size
                && let Some(job) = st.queue.pop_front()
            {
                st.running += 1;
                next = Some(Msg::Run(job));
                continue;
            }
            if st.shutdown {
                st.threads -= 1;
                return;
            }
            st.idle.push(mailbox.clone());
            drop(st);
            next = Inner::watch(&pool, &mailbox).or_else(|| Inner::park(&pool, &mailbox));
        }
    }

    /// Watches the mailbox for [`WATCH`], unless another worker does or
    /// the CPUs are busy.
    fn watch(pool: &Inner, mailbox: &Mailbox) -> Option<Msg> {
        if !pool.spare.spare() || pool.watching.swap(true, Ordering::Acquire) {
            return None;
        }
        let m = mailbox.watch(Instant::now() + WATCH);
        pool.watching.store(false, Ordering::Release);
        m
    }

    /// Waits for a message; `Some(Exit)` after a long idle time if the
    /// pool has more threads than its size.
    fn park(pool: &Arc<Inner>, mailbox: &Arc<Mailbox>) -> Option<Msg> {
        let mut msg = lock(&mailbox.msg);
        loop {
            if let Some(m) = msg.msg.take() {
                msg.asleep = false;
                mailbox.full.store(false, Ordering::Relaxed);
                return Some(m);
            }
            msg.asleep = true;
            let (m, timeout) = mailbox
                .ready
                .wait_timeout(msg, IDLE_EXIT)
                .unwrap_or_else(|e| e.into_inner());
            msg = m;
            msg.asleep = false;
            if timeout.timed_out() && msg.msg.is_none() {
                drop(msg);
                let mut st = lock(&pool.state);
                // Still idle (nobody handed us a job meanwhile)?
                let pos = st.idle.iter().position(|m| Arc::ptr_eq(m, mailbox));
                if let Some(pos) = pos
                    && st.threads > pool.size
                {
                    st.idle.swap_remove(pos);
                    drop(st);
                    return Some(Msg::Exit);
                }
                drop(st);
                msg = lock(&mailbox.msg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn runs_jobs_with_at_most_size_running() {
        let pool = Pool::new(2, 16);
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        for _ in 0..20 {
            let (now, peak, tx) = (now.clone(), peak.clone(), tx.clone());
            pool.submit(Box::new(move |r| {
                r.unwrap();
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
                now.fetch_sub(1, Ordering::SeqCst);
                tx.send(()).unwrap();
            }));
        }
        for _ in 0..20 {
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert!(pool.threads() <= 2, "{}", pool.threads());
    }

    /// Job i blocks until job i+1 is done: a chain deeper than the pool.
    #[test]
    fn blocking_jobs_do_not_starve_the_pool() {
        let pool = Arc::new(Pool::new(1, 200));
        let depth = 100;
        let dones: Vec<_> = (0..=depth)
            .map(|_| Arc::new(super::super::call::Slot::default()))
            .collect();
        fn chain(pool: &Arc<Pool>, dones: &Arc<Vec<Arc<super::super::call::Slot>>>, i: usize) {
            let (p, d) = (pool.clone(), dones.clone());
            pool.submit(Box::new(move |_| {
                if i + 1 < d.len() {
                    chain(&p, &d, i + 1);
                    p.blocking(|| d[i + 1].wait(None));
                }
                d[i].finish(faasm_hostif::faasm::CallResult {
                    return_code: i as i32,
                    output: vec![],
                    failed: false,
                    ..Default::default()
                });
            }));
        }
        let dones = Arc::new(dones);
        chain(&pool, &dones, 0);
        let r = dones[0].wait(Some(std::time::Instant::now() + Duration::from_secs(20)));
        assert_eq!(r.unwrap().return_code, 0);
    }

    #[test]
    fn a_full_pool_queues_instead_of_spawning() {
        let pool = Pool::new(1, 1);
        let (tx, rx) = mpsc::channel();
        for i in 0..5 {
            let tx = tx.clone();
            pool.submit(Box::new(move |_| tx.send(i).unwrap()));
        }
        let got: Vec<i32> = (0..5)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        assert_eq!(pool.threads(), 1);
    }
}
