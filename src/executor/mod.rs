//! The executor: runs functions stored in a [`FunctionStore`] as
//! Faaslets on a worker [`pool`], with chaining between them, a shared
//! local state tier and per-call limits.
//!
//! A call travels: [`Executor::call`] (or a guest's `chain_name` /
//! `chain_ptr` through the [`Chainer`] impl below) gets an id and a slot,
//! queues a job; a worker instantiates the module (cached per function)
//! as a fresh Faaslet (`faaslet`), runs it under the watchdog and fills
//! the slot; `await_call` waits on the slot with the worker's pool slot
//! given away.

pub mod call;
pub mod cli;
mod faaslet;
mod function;
pub mod limits;
pub mod pool;
mod setup;
mod spare;
pub mod store;
pub mod tenants;

pub use limits::Limits;
pub use store::{FunctionStore, StoreError, StoredFunction};
pub use tenants::{CallError, CallLimits};

use call::{CallTable, Slot};
use faasm_hostif::faasm;
use faasm_hostif::faasm::{
    Awaited, CallCtx, CallId, CallResult, ChainError, ChainTarget, Chainer, DEFAULT_STATE_LIMIT,
    DEFAULT_USER_STATE_LIMIT, EmbeddedStore, GlobalStore, StateStore,
};
use faasm_hostif::wasi::{self, Mount, Preopen};
use faasm_runtime::{ArtifactKey, Config, Engine, HostCharge, Linker, ProfilingStrategy};
use function::Function;
use limits::Watchdog;
use pool::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;
use tenants::Tenants;

/// Default of [`ExecutorConfig::disk_limit_per_user`].
pub const DEFAULT_USER_DISK_LIMIT: u64 = 1 << 30;

/// How an executor runs calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// Calls running at once (blocked ones do not count).
    pub workers: usize,
    /// Calls admitted (running or blocked) at once, over all users; more
    /// wait in their user's queue. Also bounds the worker threads.
    pub max_calls: usize,
    /// Per-user bounds on calls: admitted, queued, records held.
    pub calls: CallLimits,
    pub limits: Limits,
    /// Bytes of state (values and appended elements) in total.
    pub state_limit: usize,
    /// Bytes of state one user holds, each key and appended element
    /// charged a fixed overhead besides its bytes
    /// (`faasm_hostif::faasm::{KEY_OVERHEAD, ELEM_OVERHEAD}`).
    pub state_limit_per_user: usize,
    /// Bytes one user's files (`users/<user>/fs`) may use on disk, each
    /// file, directory and link counted at its size rounded up to 4 KiB;
    /// past it, writes fail with `EDQUOT`.
    pub disk_limit_per_user: u64,
    /// Start every call from the function's Proto-Faaslet (a snapshot
    /// taken after initialisation, restored copy-on-write, Faaslets reset
    /// and reused between calls). Off: every call instantiates and
    /// initialises the module afresh.
    pub snapshots: bool,
    /// Whether loaded functions' code is described for profilers (a perf
    /// map, /tmp/perf-PID.map, naming each function's wasm functions
    /// `wasm[USER/FUNC]::NAME`).
    pub profiling: ProfilingStrategy,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_calls: 4096,
            calls: CallLimits::default(),
            limits: Limits::default(),
            state_limit: DEFAULT_STATE_LIMIT,
            state_limit_per_user: DEFAULT_USER_STATE_LIMIT,
            disk_limit_per_user: DEFAULT_USER_DISK_LIMIT,
            snapshots: true,
            profiling: ProfilingStrategy::None,
        }
    }
}

/// Runs stored functions. Cheap to share by reference across threads.
pub struct Executor {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub store: FunctionStore,
    pub engine: Engine,
    pub config: ExecutorConfig,
    pub state: Arc<StateStore>,
    pub watchdog: Watchdog,
    /// WASI and the Faasm calls, defined once: each Faaslet is instantiated
    /// with its own `HostCtx`, which the functions find through the caller.
    pub linker: Linker,
    calls: CallTable,
    pool: Pool,
    tenants: Tenants,
    functions: Mutex<HashMap<(String, String), Arc<Function>>>,
    /// Each user's filesystem, checked once (creating and canonicalising
    /// the trees per call cost more than instantiating the Faaslet).
    filesystems: Mutex<HashMap<String, Preopen>>,
    /// The `Arc<dyn Chainer>` handed to Faaslets: a weak reference, so a
    /// Faaslet never keeps the executor alive.
    me: Weak<Shared>,
}

/// A call made by the embedder; [`CallHandle::wait`] gives its result.
pub struct CallHandle {
    pub id: CallId,
    slot: Arc<Slot>,
}

impl CallHandle {
    pub fn wait(&self) -> Arc<CallResult> {
        self.slot.wait(None).expect("waiting without a deadline")
    }

    /// Queued, running or done (with the result).
    pub fn status(&self) -> call::Status {
        self.slot.status()
    }

    /// Runs `f` with the result when the call ends (at once if it has),
    /// on the thread that ends it: keep `f` short and non-blocking.
    pub fn on_done(&self, f: impl FnOnce(Arc<CallResult>) + Send + 'static) {
        self.slot.on_done(Box::new(f));
    }
}

impl Executor {
    /// An executor whose global state tier is the embedded store, under
    /// the function store's home (`state/`).
    pub fn new(store: FunctionStore, config: ExecutorConfig) -> Executor {
        let global = Arc::new(EmbeddedStore::new(store.home().join("state")));
        Executor::with_global_state(store, config, global)
    }

    /// An executor whose global state tier is `global` (a
    /// `faasm_hostif::faasm::RedisStore`, say; see
    /// `faasm_hostif::faasm::global::open`).
    pub fn with_global_state(
        store: FunctionStore,
        config: ExecutorConfig,
        global: Arc<dyn GlobalStore>,
    ) -> Executor {
        // The store's artifacts are tagged with its installation's key.
        // Without one (an unwritable home) the process's own key serves:
        // artifacts stored by another process then fail their check and
        // are recompiled from the stored module.
        let artifact_key = ArtifactKey::load_or_create(&faasm_abi::key::key_path(store.home()))
            .unwrap_or_else(|_| Config::default().artifact_key);
        let engine = Engine::new(Config {
            max_memory_pages: config.limits.max_memory.map(|b| b / 65536),
            compile_time_limit: config.limits.compile_time,
            artifact_key,
            profiling: config.profiling,
            ..Config::default()
        });
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker_shared(&mut linker);
        faasm::add_to_linker_shared(&mut linker);
        let shared = Arc::new_cyclic(|me| Shared {
            store,
            engine,
            linker,
            state: Arc::new(
                StateStore::with_user_limit(config.state_limit, config.state_limit_per_user)
                    .backed_by(global),
            ),
            watchdog: Watchdog::default(),
            calls: CallTable::default(),
            pool: Pool::new(config.workers, config.max_calls + 1),
            tenants: Tenants::new(config.calls.clone(), config.max_calls),
            functions: Mutex::default(),
            filesystems: Mutex::default(),
            me: me.clone(),
            config,
        });
        Executor { shared }
    }

    pub fn store(&self) -> &FunctionStore {
        &self.shared.store
    }

    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    pub fn state(&self) -> &Arc<StateStore> {
        &self.shared.state
    }

    pub fn config(&self) -> &ExecutorConfig {
        &self.shared.config
    }

    /// Compiles and stores a function (and forgets a cached older version).
    pub fn upload(
        &self,
        user: &str,
        func: &str,
        wasm: &[u8],
    ) -> Result<StoredFunction, StoreError> {
        let stored = self
            .shared
            .store
            .upload(&self.shared.engine, user, func, wasm)?;
        lock(&self.shared.functions).remove(&(user.to_string(), func.to_string()));
        // Make the Proto-Faaslet now rather than on the first call; a
        // function whose initialisation fails still uploads (its calls
        // report the failure).
        if self.shared.config.snapshots {
            let _ = self.shared.function(user, func);
        }
        Ok(stored)
    }

    /// How many reset Faaslets of `user/func` wait for the next call (0
    /// without a snapshot or before the first call ended).
    pub fn idle_faaslets(&self, user: &str, func: &str) -> usize {
        let key = (user.to_string(), func.to_string());
        lock(&self.shared.functions)
            .get(&key)
            .map_or(0, |f| f.idle_count())
    }

    /// Whether `user/func` is loaded (its calls need no disk access to
    /// start).
    pub fn is_loaded(&self, user: &str, func: &str) -> bool {
        lock(&self.shared.functions).contains_key(&(user.to_string(), func.to_string()))
    }

    /// Reset Faaslets waiting for a call, over every loaded function.
    pub fn warm_faaslets(&self) -> usize {
        lock(&self.shared.functions)
            .values()
            .map(|f| f.idle_count())
            .sum()
    }

    /// Removes a stored function and forgets its loaded module and warm
    /// Faaslets (calls already running finish with what they hold).
    pub fn remove(&self, user: &str, func: &str) -> Result<(), StoreError> {
        self.shared.store.remove(user, func)?;
        lock(&self.shared.functions).remove(&(user.to_string(), func.to_string()));
        Ok(())
    }

    /// Whether `user/func` runs from a Proto-Faaslet (loading it if needed).
    pub fn has_snapshot(&self, user: &str, func: &str) -> Result<bool, StoreError> {
        Ok(self.shared.function(user, func)?.snapshot().is_some())
    }

    /// Queues a call of `user/func` with `input`.
    pub fn call(&self, user: &str, func: &str, input: Vec<u8>) -> CallHandle {
        let s = &self.shared;
        let id = s.calls.new_id();
        let slot = Arc::new(Slot::default());
        let ctx = CallCtx {
            id,
            user: user.to_string(),
            function: func.to_string(),
            deadline: None,
        };
        s.start(
            ctx,
            ChainTarget::Name(func.to_string()),
            input,
            HostCharge::none(),
            slot.clone(),
        );
        CallHandle { id, slot }
    }

    /// Runs `user/func` with `input` and waits for it.
    pub fn invoke(&self, user: &str, func: &str, input: Vec<u8>) -> Arc<CallResult> {
        self.call(user, func, input).wait()
    }

    /// Records of chained calls still kept (tests check they go away).
    pub fn records(&self) -> usize {
        self.shared.calls.len()
    }

    /// `user`'s calls admitted (running or blocked) and queued now.
    pub fn load(&self, user: &str) -> (usize, usize) {
        self.shared.tenants.load(user)
    }

    /// Worker threads alive now.
    pub fn threads(&self) -> usize {
        self.shared.pool.threads()
    }

    /// Calls running on workers now (blocked ones not counted), and how
    /// many may: the worker pool's occupancy.
    pub fn occupancy(&self) -> (usize, usize) {
        (self.shared.pool.running(), self.shared.pool.size())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn chainer(&self) -> Arc<dyn Chainer> {
        Arc::new(ExecChainer(self.me.clone()))
    }

    /// A loaded function (module and Proto-Faaslet), from the cache or
    /// the store.
    pub(crate) fn function(&self, user: &str, func: &str) -> Result<Arc<Function>, StoreError> {
        let key = (user.to_string(), func.to_string());
        if let Some(f) = lock(&self.functions).get(&key) {
            return Ok(f.clone());
        }
        // Load outside the lock: two racing loads of one function are
        // harmless, serialising every load behind one would not be.
        let f = Arc::new(function::load(self, user, func)?);
        Ok(lock(&self.functions).entry(key).or_insert(f).clone())
    }

    pub(crate) fn new_call_id(&self) -> faasm::CallId {
        self.calls.new_id()
    }

    /// `user`'s filesystem: guest `/` = their writable tree over the
    /// shared read-only one.
    pub(crate) fn filesystem(&self, user: &str) -> Result<Preopen, String> {
        if let Some(p) = lock(&self.filesystems).get(user) {
            return Ok(p.clone());
        }
        let upper = self.store.user_fs(user).map_err(|e| e.to_string())?;
        let lower = self.store.shared_fs().map_err(|e| e.to_string())?;
        let preopen = Mount::layered("/", upper, lower)
            .with_disk_limit(self.config.disk_limit_per_user)
            .check()
            .map_err(|e| format!("bad WASI configuration: {e}"))?;
        lock(&self.filesystems)
            .entry(user.to_string())
            .or_insert(preopen.clone());
        Ok(preopen)
    }

    /// Queues the call described by `ctx` (its `id` already allocated)
    /// whose result goes to `slot`. `ctx.function` is the caller's own
    /// function for a table target; `ctx.deadline` is the caller's (a
    /// chained call never outlives its root).
    fn start(
        self: &Arc<Self>,
        mut ctx: CallCtx,
        target: ChainTarget,
        input: Vec<u8>,
        held: HostCharge,
        slot: Arc<Slot>,
    ) {
        let me = self.clone();
        let user = ctx.user.clone();
        let (id, inherited, input_len) = (ctx.id, ctx.deadline, input.len());
        let admitted = move |admitted: Result<(), CallError>| {
            if let Err(e) = admitted {
                slot.finish(failed(e));
                return;
            }
            let pool_me = me.clone();
            me.pool.submit(Box::new(move |started| {
                // The caller's charge for the input ends with the call.
                let _held = held;
                let me = pool_me;
                let result = match started {
                    Ok(()) => {
                        slot.set_running();
                        // The clock starts when the call does, not when
                        // queued; a chained call keeps its root's deadline.
                        let own = me.config.limits.timeout.map(|t| Instant::now() + t);
                        ctx.deadline = match (own, ctx.deadline) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        let user = ctx.user.clone();
                        let mut r = faaslet::run(
                            &me,
                            faaslet::Spec {
                                call: ctx,
                                target,
                                input,
                            },
                        );
                        let chained = me.calls.finished(id);
                        me.tenants.finished(&user, chained.len());
                        r.chained = chained;
                        r
                    }
                    Err(why) => {
                        me.tenants.finished(&ctx.user, 0);
                        failed(CallError::NotStarted(why))
                    }
                };
                slot.finish(result);
            }));
        };
        self.tenants
            .submit(&user, id, inherited, input_len, Box::new(admitted));
    }
}

fn failed(e: CallError) -> CallResult {
    CallResult {
        timed_out: e == CallError::DeadlinePassed,
        return_code: 1,
        output: e.to_string().into_bytes(),
        failed: true,
        ..CallResult::default()
    }
}

/// The executor as seen by a Faaslet's chaining calls.
struct ExecChainer(Weak<Shared>);

impl Chainer for ExecChainer {
    fn chain(
        &self,
        caller: &CallCtx,
        target: ChainTarget,
        input: Vec<u8>,
        held: HostCharge,
    ) -> Result<CallId, ChainError> {
        let Some(s) = self.0.upgrade() else {
            return Ok(0);
        };
        let limits = s.tenants.limits();
        if input.len() > limits.max_chain_input {
            return Err(ChainError::InputTooLarge {
                len: input.len(),
                limit: limits.max_chain_input,
            });
        }
        if !s.tenants.add_record(&caller.user) {
            return Err(ChainError::TooManyRecords {
                user: caller.user.clone(),
                limit: limits.max_records_per_user,
            });
        }
        let id = s.calls.new_id();
        let slot = s.calls.insert(caller.id, id);
        let function = match &target {
            ChainTarget::Name(name) => name.clone(),
            ChainTarget::TableIndex(_) => caller.function.clone(),
        };
        let ctx = CallCtx {
            id,
            user: caller.user.clone(),
            function,
            deadline: caller.deadline,
        };
        s.start(ctx, target, input, held, slot);
        Ok(id)
    }

    fn await_call(&self, caller: &CallCtx, id: CallId) -> Awaited {
        let Some(s) = self.0.upgrade() else {
            return Awaited::Foreign;
        };
        let Some(slot) = s.calls.slot_for(caller.id, id) else {
            return Awaited::Foreign;
        };
        if let Some(r) = slot.result() {
            return Awaited::Done(r);
        }
        s.tenants.await_begin(&caller.user, id);
        let r = s.pool.blocking(|| slot.wait(caller.deadline));
        s.tenants.await_end(&caller.user, id);
        match r {
            // A child shares its root's deadline: one that ended because
            // of it must not let the caller carry on past it.
            Some(_) if caller.expired() => Awaited::DeadlinePassed,
            Some(r) => Awaited::Done(r),
            None => Awaited::DeadlinePassed,
        }
    }

    fn blocking(&self, wait: &mut dyn FnMut()) {
        match self.0.upgrade() {
            Some(s) => s.pool.blocking(wait),
            None => wait(),
        }
    }
}
