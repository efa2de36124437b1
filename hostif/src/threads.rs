//! wasi-threads: several host threads running one module in one shared
//! memory.
//!
//! A wasi-threads module imports its memory (`env.memory`, shared) and the
//! function `wasi.thread-spawn (param i32) (result i32)`, and exports
//! `wasi_thread_start (param i32 i32)`. `thread-spawn(start_arg)`
//! instantiates the *same* module again with the same imports (so the same
//! memory, but fresh globals: the stack pointer and TLS base are per
//! thread, which is what the toolchains expect), starts a host thread that
//! calls `wasi_thread_start(tid, start_arg)` in the new instance, and
//! returns the new thread's id (positive). It returns a negative errno
//! instead (`-EAGAIN` when [`ThreadsConfig::max_threads`] threads are
//! already running or being started, or the host cannot start one) — never a host crash.
//!
//! How a run ends (the wasi-threads process model):
//! - when the main function (`_start`, or what the embedder calls) returns,
//!   the run is over: threads still running are interrupted, not joined
//!   (a guest that needs their work joins them itself, as pthreads do);
//! - a `proc_exit` in any thread ends the run with that status, and a trap
//!   in any thread makes the run fail with that trap; every other thread is
//!   interrupted. [`ThreadSpawner::run_main`] returns as soon as this
//!   happens, even if the main thread is blocked in `memory.atomic.wait`
//!   on a thread that died.
//!
//! Interruption stops running code at once (a signal to its thread); a thread
//! blocked in `memory.atomic.wait` (or in a blocking host call) stays
//! blocked and is left behind, detached. In a command-line run the process
//! exits right after; an embedder that keeps running leaks such threads
//! (and the instance and memory they hold) until they wake up.

use crate::errno::Errno;
use faasm_runtime::{
    Engine, Error, ExternType, FuncType, Instance, InterruptHandle, Linker, Memory, MemoryType,
    Module, Trap, Val, ValType,
};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};

/// Import module and name of the spawn function.
pub const MODULE: &str = "wasi";
/// Import name of the spawn function (in [`MODULE`]).
pub const SPAWN: &str = "thread-spawn";
/// The export each new thread starts in: `(param i32 tid) (param i32 arg)`.
pub const THREAD_START: &str = "wasi_thread_start";
/// Where wasi-threads modules import their shared memory from.
pub const MEMORY_MODULE: &str = "env";
/// Import name of the shared memory (in [`MEMORY_MODULE`]).
pub const MEMORY_NAME: &str = "memory";

/// Thread ids are positive and fit in 29 bits (wasi-threads reserves the
/// upper ones).
const MAX_TID: u32 = 0x1FFF_FFFF;

/// Limits of a wasi-threads instance's threads.
#[derive(Debug, Clone)]
pub struct ThreadsConfig {
    /// Spawned threads that may run or be starting at once (the main thread
    /// not counted).
    pub max_threads: usize,
    /// Native stack of each host thread, including the main one under
    /// [`ThreadSpawner::run_main`]; `None`: the engine's wasm stack limit
    /// plus room for host code.
    pub stack_size: Option<usize>,
}

impl Default for ThreadsConfig {
    fn default() -> Self {
        ThreadsConfig {
            max_threads: 64,
            stack_size: None,
        }
    }
}

/// Why a wasi-threads module cannot be set up or started.
#[derive(Debug, thiserror::Error)]
pub enum ThreadsError {
    /// It spawns threads but imports no shared memory to run them on.
    #[error("module imports `wasi`.`thread-spawn` but no shared memory `env`.`memory`")]
    NoSharedMemory,
    /// It spawns threads but has no entry point for them.
    #[error("module imports `wasi`.`thread-spawn` but does not export `wasi_thread_start`")]
    NoThreadStart,
    /// Its thread entry point has the wrong type (shown).
    #[error("`wasi_thread_start` must have type (i32, i32) -> (), found {0}")]
    BadThreadStart(String),
    /// The runtime could not create the shared memory.
    #[error("cannot create the shared memory: {0}")]
    Memory(Error),
    /// The host could not create the main thread.
    #[error("cannot start the main thread: {0}")]
    Spawn(std::io::Error),
}

/// Whether `module` asks for wasi-threads (imports `wasi.thread-spawn`).
pub fn wants_threads(module: &Module) -> bool {
    module
        .imports()
        .iter()
        .any(|(m, n, _)| m == MODULE && n == SPAWN)
}

/// Spawns the threads of one run and decides how the run ends. Cheap to
/// clone.
#[derive(Clone)]
pub struct ThreadSpawner {
    shared: Arc<Shared>,
}

struct Shared {
    module: Module,
    /// The linker every thread's instance is made with (it includes
    /// `thread-spawn` itself, which holds only a weak reference back).
    linker: OnceLock<Linker>,
    memory: Memory,
    config: ThreadsConfig,
    stack_size: usize,
    state: Mutex<State>,
    /// Signalled when the run ends or the main function returns.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    next_tid: u32,
    /// Running spawned threads, to interrupt when the run ends.
    live: HashMap<u32, InterruptHandle>,
    /// Threads whose instance is being made. They count against the limit
    /// too: the module's start function runs during that, and may spawn.
    starting: usize,
    main: Option<InterruptHandle>,
    /// What ended the run from a spawned thread: its exit or trap.
    ended_by: Option<Trap>,
    main_returned: bool,
    /// No more threads start once the run is over.
    over: bool,
}

impl ThreadSpawner {
    /// Prepares `linker` for `module`: defines `env.memory` as a new shared
    /// memory of the import's type (unless the linker already has one) and
    /// `wasi.thread-spawn`. Define everything else the module imports
    /// (WASI) before or after; the threads' instances see the final set as
    /// it is when the first instance is made with [`ThreadSpawner::instantiate`].
    pub fn link(
        linker: &mut Linker,
        module: &Module,
        config: ThreadsConfig,
    ) -> Result<ThreadSpawner, ThreadsError> {
        let memory = match linker.get(MEMORY_MODULE, MEMORY_NAME) {
            Some(faasm_runtime::Extern::Memory(m)) if m.ty().shared => m.clone(),
            _ => {
                let ty = shared_memory_import(module).ok_or(ThreadsError::NoSharedMemory)?;
                let m = Memory::with_strategy(ty, module.memory_strategy())
                    .map_err(ThreadsError::Memory)?;
                linker.define(MEMORY_MODULE, MEMORY_NAME, m.clone());
                m
            }
        };
        match module
            .exports()
            .into_iter()
            .find(|(n, _)| n == THREAD_START)
        {
            None => return Err(ThreadsError::NoThreadStart),
            Some((_, ExternType::Func(ty))) if ty == start_type() => {}
            Some((_, other)) => return Err(ThreadsError::BadThreadStart(format!("{other:?}"))),
        }
        let stack_size = config
            .stack_size
            .unwrap_or_else(|| default_stack_size(module.engine()));
        let shared = Arc::new(Shared {
            module: module.clone(),
            linker: OnceLock::new(),
            memory,
            config,
            stack_size,
            state: Mutex::new(State {
                next_tid: 1,
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        // Weak: the linker (held by `shared`) holds this function.
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        let ty = FuncType::new([ValType::I32], [ValType::I32]);
        linker.func_new(MODULE, SPAWN, ty, move |_caller, params, results| {
            let Some(shared) = weak.upgrade() else {
                return Err(Trap::host("thread-spawn called after its run ended"));
            };
            let arg = match params {
                [Val::I32(a)] => *a,
                _ => return Err(Trap::host("thread-spawn called with mistyped arguments")),
            };
            results[0] = Val::I32(match spawn(&shared, arg)? {
                Ok(tid) => tid as i32,
                Err(errno) => -i32::from(errno.code()),
            });
            Ok(())
        });
        Ok(ThreadSpawner { shared })
    }

    /// Instantiates the main instance with the final `linker` (which every
    /// spawned thread then uses too) and registers it for interruption.
    pub fn instantiate(&self, linker: &Linker) -> Result<Instance, Error> {
        let _ = self.shared.linker.set(linker.clone());
        let instance = linker.instantiate(&self.shared.module)?;
        lock(&self.shared.state).main = Some(instance.interrupt_handle());
        Ok(instance)
    }

    /// The shared memory all threads use.
    pub fn memory(&self) -> &Memory {
        &self.shared.memory
    }

    /// Spawned threads currently running.
    pub fn live_threads(&self) -> usize {
        lock(&self.shared.state).live.len()
    }

    /// The exit or trap of a spawned thread that ended the run, if any.
    pub fn ended_by(&self) -> Option<Trap> {
        lock(&self.shared.state).ended_by.clone()
    }

    /// Runs the main function `f` on a host thread of its own and returns
    /// when it returns or when a spawned thread ends the run (its exit or
    /// trap is then the result, as `Error::Trap`). Either way the run is
    /// over afterwards: remaining threads are interrupted.
    pub fn run_main<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let result: Arc<Mutex<Option<Result<T, Error>>>> = Arc::new(Mutex::new(None));
        let (shared, slot) = (self.shared.clone(), result.clone());
        std::thread::Builder::new()
            .name("wasm-main".into())
            .stack_size(self.shared.stack_size)
            .spawn(move || {
                // A panic must still wake the waiting caller.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                    .unwrap_or_else(|_| Err(Error::Trap(Trap::host("the main thread panicked"))));
                *lock(&slot) = Some(r);
                lock(&shared.state).main_returned = true;
                shared.changed.notify_all();
            })
            .map_err(|e| Error::Resource(format!("cannot start the main thread: {e}")))?;
        let mut st = lock(&self.shared.state);
        while !st.main_returned && st.ended_by.is_none() {
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
        let ended_by = st.ended_by.clone();
        end_run(&mut st);
        drop(st);
        match ended_by {
            // A thread's exit or trap wins over what main saw (typically
            // the interrupt it caused).
            Some(trap) => Err(Error::Trap(trap)),
            None => lock(&result)
                .take()
                .expect("main stored its result before signalling"),
        }
    }
}

fn start_type() -> FuncType {
    FuncType::new([ValType::I32, ValType::I32], [])
}

/// Room for the wasm stack limit plus the host code around and below it.
fn default_stack_size(engine: &Engine) -> usize {
    engine.config().max_wasm_stack + (2 << 20)
}

fn shared_memory_import(module: &Module) -> Option<MemoryType> {
    module
        .imports()
        .into_iter()
        .find_map(|(m, n, ty)| match ty {
            ExternType::Memory(t) if m == MEMORY_MODULE && n == MEMORY_NAME && t.shared => Some(t),
            _ => None,
        })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking thread cannot leave the bookkeeping half-updated.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn end_run(st: &mut State) {
    st.over = true;
    for h in st.live.values() {
        h.interrupt();
    }
    if let Some(main) = &st.main {
        main.interrupt();
    }
}

/// `thread-spawn`: the new thread's id, or the errno the guest gets. An
/// `Err` is a trap of the calling thread (its own start function trapped).
fn spawn(shared: &Arc<Shared>, arg: i32) -> Result<Result<u32, Errno>, Trap> {
    let Some(linker) = shared.linker.get() else {
        // Called before `ThreadSpawner::instantiate` (by an instance made
        // some other way): there is no linker for the new thread yet.
        return Ok(Err(Errno::Again));
    };
    let tid = {
        let mut st = lock(&shared.state);
        if st.over
            || st.live.len() + st.starting >= shared.config.max_threads
            || st.next_tid > MAX_TID
        {
            return Ok(Err(Errno::Again));
        }
        st.starting += 1;
        st.next_tid += 1;
        st.next_tid - 1
    };
    // The module's start function runs again here; wasm-ld's memory
    // initialiser is guarded so the shared memory is initialised once.
    let made = linker.instantiate(&shared.module);
    let mut st = lock(&shared.state);
    st.starting -= 1;
    let instance = match made {
        Ok(i) => i,
        Err(Error::Trap(t)) => return Err(t),
        Err(_) => return Ok(Err(Errno::Again)),
    };
    let Some(start) = instance.get_func(THREAD_START) else {
        return Ok(Err(Errno::Nosys));
    };
    // Registered before it runs so that an ending run interrupts it.
    if st.over {
        return Ok(Err(Errno::Again));
    }
    st.live.insert(tid, instance.interrupt_handle());
    drop(st);
    let thread_shared = shared.clone();
    let started = std::thread::Builder::new()
        .name(format!("wasm-thread-{tid}"))
        .stack_size(shared.stack_size)
        .spawn(move || {
            let outcome = start.call(&[Val::I32(tid as i32), Val::I32(arg)]);
            // Keep the instance until the call is over.
            drop(instance);
            thread_finished(&thread_shared, tid, outcome.err());
        });
    match started {
        Ok(_) => Ok(Ok(tid)),
        Err(_) => {
            lock(&shared.state).live.remove(&tid);
            Ok(Err(Errno::Again))
        }
    }
}

/// Bookkeeping when a spawned thread's `wasi_thread_start` is over: an
/// exit or trap ends the whole run (the first one is what the run reports).
fn thread_finished(shared: &Shared, tid: u32, error: Option<Error>) {
    let mut st = lock(&shared.state);
    st.live.remove(&tid);
    if let Some(e) = error
        && !st.over
    {
        let trap = match e {
            Error::Trap(t) => t,
            other => Trap::host(format!("thread {tid}: {other}")),
        };
        st.ended_by = Some(trap);
        end_run(&mut st);
        drop(st);
        shared.changed.notify_all();
    }
}
