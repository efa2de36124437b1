//! Faasm's own host calls: module `env`, functions `__faasm_*` (the guest
//! ABI the C header and the Rust SDK are written against; see the README's
//! "Host interface" section for every signature).
//!
//! - `io`: the call's input and output;
//! - `chain`: chaining calls and awaiting them, through the [`Chainer`]
//!   the executor implements (hostif stays below the executor);
//! - `state`: the local state tier (values, appended elements, locks);
//! - `ptr`: state regions mapped into the guest's memory;
//! - `mman`: `mmap`/`munmap`/`__sbrk` over the guest's memory;
//! - `state_file`: a guest file into state;
//! - `conf`: configuration flags and backtraces.
//!
//! Each call's logic is a function over [`GuestMemory`] and plain host
//! objects, unit-tested without a runtime; this module adapts them to the
//! runtime's host-function convention. A bad pointer, length or string
//! traps with a message naming the call.

mod chain;
mod chunks;
mod conf;
pub mod global;
mod guest;
mod io;
mod mman;
mod ptr;
mod state;
mod state_file;

pub use chain::{Awaited, CallCtx, CallId, CallResult, ChainError, ChainTarget, Chainer};
pub use global::{EmbeddedStore, GlobalError, GlobalStore, RedisOptions, RedisStore};
pub use guest::MAX_CSTR;
pub use state::{
    DEFAULT_STATE_LIMIT, DEFAULT_USER_STATE_LIMIT, ELEM_OVERHEAD, HeldLocks, KEY_OVERHEAD,
    LockMode, StateStore, Tier,
};

use crate::memory::GuestMemory;
use faasm_runtime::{Caller, FuncType, HostErrorKind, Linker, Trap, Val, ValType};
use ptr::{RegionMemory, Regions, StateRef};
use std::sync::{Arc, Mutex, MutexGuard};

/// The import module of the Faasm calls.
pub const MODULE: &str = "env";

/// Default bound on a call's output (`write_output`, captured stdout).
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 << 20;

/// Why a Faasm call failed; it becomes the guest's trap message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaasmError {
    /// A guest pointer and length reach past the end of linear memory.
    #[error("{call}: {what} 0x{ptr:x} + {len} is outside memory ({memory} bytes)")]
    OutOfBounds {
        /// The host call, e.g. `__faasm_read_state`.
        call: &'static str,
        /// Which argument, e.g. `buffer`.
        what: &'static str,
        /// Where the guest's range starts.
        ptr: u32,
        /// The range's length in bytes.
        len: u64,
        /// The memory's current size in bytes.
        memory: usize,
    },
    /// A C string has no NUL within [`MAX_CSTR`] bytes.
    #[error("{call}: {what} at 0x{ptr:x} is not NUL-terminated within {MAX_CSTR} bytes")]
    Unterminated {
        /// The host call.
        call: &'static str,
        /// Which argument, e.g. `key`.
        what: &'static str,
        /// Where the string starts.
        ptr: u32,
    },
    /// A string argument is not UTF-8 (keys and function names must be).
    #[error("{call}: {what} at 0x{ptr:x} is not valid UTF-8")]
    NotUtf8 {
        /// The host call.
        call: &'static str,
        /// Which argument.
        what: &'static str,
        /// Where the string starts.
        ptr: u32,
    },
    /// The call's output would pass its limit.
    #[error("__faasm_write_output: output limit exceeded ({len} bytes, limit {limit})")]
    OutputLimit {
        /// The output's length had it been accepted.
        len: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A chained function's name is empty or contains a `/`.
    #[error("{call}: bad function name {name:?} (must be non-empty, without '/')")]
    BadFunctionName {
        /// The host call.
        call: &'static str,
        /// The name as the guest gave it.
        name: String,
    },
    /// A partial state access reaches past the value's total length.
    #[error("{call}: offset {offset} + length {len} is beyond the total length {total_len}")]
    StateRange {
        /// The host call.
        call: &'static str,
        /// Where the access starts in the value.
        offset: u32,
        /// How many bytes it covers.
        len: u32,
        /// The value's total length.
        total_len: u32,
    },
    /// Storing the value would take the user's state past its limit.
    #[error("{call}: state limit exceeded for user {user:?} ({limit} bytes)")]
    StateLimit {
        /// The host call.
        call: &'static str,
        /// The user whose state is full.
        user: String,
        /// The user's limit, in bytes.
        limit: usize,
    },
    /// A key already mapped into memory is asked for with a larger length.
    #[error("{call}: key {key:?} was mapped with {mapped} bytes, cannot map {asked}")]
    RegionTooSmall {
        /// The host call.
        call: &'static str,
        /// The state key.
        key: String,
        /// The length of the existing mapping.
        mapped: u32,
        /// The length asked for now.
        asked: u32,
    },
    /// Linear memory could not grow to make room (a mapping or `mmap`).
    #[error("{call}: cannot grow memory by {pages} pages")]
    Grow {
        /// The host call.
        call: &'static str,
        /// The wasm pages it needed.
        pages: u64,
    },
    /// The Faaslet locks a key it already holds (locks are not reentrant).
    #[error("{call}: this Faaslet already holds the lock of {key:?}")]
    AlreadyLocked {
        /// The host call.
        call: &'static str,
        /// The state key.
        key: String,
    },
    /// The Faaslet unlocks a lock (of that mode) it does not hold.
    #[error("{call}: this Faaslet does not hold that lock of {key:?}")]
    NotLocked {
        /// The host call.
        call: &'static str,
        /// The state key.
        key: String,
    },
    /// The executor refused a chained call.
    #[error("{call}: {source}")]
    Chain {
        /// The host call.
        call: &'static str,
        /// Why it refused.
        source: ChainError,
    },
    /// A blocking call (an await, a lock) outlived the call's deadline.
    #[error("{call}: the call's deadline passed while waiting")]
    DeadlinePassed {
        /// The host call.
        call: &'static str,
    },
    /// A masked push names a mask key this Faaslet has not mapped.
    #[error(
        "{call}: the mask {mask_key:?} is not mapped by this Faaslet (read_state_ptr it first)"
    )]
    MaskNotMapped {
        /// The host call.
        call: &'static str,
        /// The mask's state key.
        mask_key: String,
    },
    /// A masked push's mask is shorter than the region it masks.
    #[error("{call}: the mask {mask_key:?} has {mask_len} bytes, the region {len}")]
    MaskTooShort {
        /// The host call.
        call: &'static str,
        /// The mask's state key.
        mask_key: String,
        /// The mask's length.
        mask_len: u32,
        /// The masked region's length.
        len: u32,
    },
    /// A guest file to put into state cannot be read.
    #[error("{call}: cannot read {path:?}: {errno}")]
    GuestFile {
        /// The host call.
        call: &'static str,
        /// The path as the guest gave it.
        path: String,
        /// Why the guest's filesystem refused it.
        errno: crate::Errno,
    },
    /// The call needs the guest's files but the instance has no WASI
    /// context.
    #[error("{call}: the calling instance has no filesystem (no WASI context)")]
    NoFilesystem {
        /// The host call.
        call: &'static str,
    },
    /// The global state tier failed.
    #[error("{call}: {source}")]
    Global {
        /// The host call.
        call: &'static str,
        /// What the tier reported.
        source: global::GlobalError,
    },
}

impl FaasmError {
    /// The trap a failed call raises, typed by what the embedder may act
    /// on (a deadline, a limit, anything else).
    pub fn into_trap(self) -> Trap {
        let kind = match &self {
            FaasmError::DeadlinePassed { .. } => HostErrorKind::DeadlinePassed,
            FaasmError::OutputLimit { .. }
            | FaasmError::StateLimit { .. }
            | FaasmError::Chain { .. } => HostErrorKind::LimitExceeded,
            _ => HostErrorKind::Failed,
        };
        Trap::host_error(kind, self.to_string())
    }

    /// The global tier's error as this call's.
    pub(crate) fn global(call: &'static str, source: global::GlobalError) -> FaasmError {
        match source {
            global::GlobalError::DeadlinePassed => FaasmError::DeadlinePassed { call },
            source => FaasmError::Global { call, source },
        }
    }
}

/// What one Faaslet's Faasm calls share: its call, input and output, the
/// executor's chainer and state, and its own regions and held locks.
/// Cheap to clone.
#[derive(Clone)]
pub struct FaasmCtx {
    inner: Arc<Inner>,
}

struct Inner {
    call: CallCtx,
    input: Vec<u8>,
    output: Mutex<Option<Vec<u8>>>,
    output_limit: usize,
    chainer: Arc<dyn Chainer>,
    state: Arc<StateStore>,
    local: Mutex<Local>,
}

struct Local {
    regions: Regions,
    locks: HeldLocks,
    mman: mman::Mman,
}

impl std::fmt::Debug for FaasmCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaasmCtx")
            .field("call", &self.inner.call)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FaasmCtx {
    /// The context of one call: its input, the limit on its output, the
    /// executor's chainer and the host's state store.
    pub fn new(
        call: CallCtx,
        input: Vec<u8>,
        output_limit: usize,
        chainer: Arc<dyn Chainer>,
        state: Arc<StateStore>,
    ) -> FaasmCtx {
        let locks = HeldLocks::new(state.clone());
        FaasmCtx {
            inner: Arc::new(Inner {
                call,
                input,
                output: Mutex::new(None),
                output_limit,
                chainer,
                state,
                local: Mutex::new(Local {
                    regions: Regions::default(),
                    locks,
                    mman: mman::Mman::default(),
                }),
            }),
        }
    }

    /// The call these host calls serve.
    pub fn call(&self) -> &CallCtx {
        &self.inner.call
    }

    /// The output set by `__faasm_write_output`, if the guest set one.
    pub fn take_output(&self) -> Option<Vec<u8>> {
        lock(&self.inner.output).take()
    }

    /// Releases every state lock the Faaslet still holds (also done when
    /// the last clone of the context is dropped).
    pub fn release_locks(&self) {
        lock(&self.inner.local).locks.release_all();
    }
}

/// The caller's memory as state regions need it.
struct CallerMemory<'a, 'b>(&'a mut Caller<'b>);

impl RegionMemory for CallerMemory<'_, '_> {
    fn grow(&mut self, pages: u64) -> Option<u64> {
        self.0.memory()?.grow(pages).ok()
    }

    fn bytes(&mut self) -> &mut [u8] {
        self.0.memory_mut().unwrap_or_default()
    }

    fn map_shared(&mut self, offset: u32, len: u32, fd: rustix::fd::BorrowedFd<'_>) -> bool {
        self.0
            .memory()
            .is_some_and(|m| m.map_shared(offset.into(), len.into(), fd).is_ok())
    }
}

type Handler = fn(&Inner, &mut Caller<'_>, &[u32]) -> Result<i32, FaasmError>;

fn mem<'a>(caller: &'a mut Caller<'_>) -> GuestMemory<'a> {
    GuestMemory::new(caller.memory_mut().unwrap_or_default())
}

fn key(caller: &mut Caller<'_>, call: &'static str, ptr: u32) -> Result<String, FaasmError> {
    guest::read_cstr(&mem(caller), call, "state key", ptr)
}

fn state_lock(
    ctx: &Inner,
    c: &mut Caller<'_>,
    call: &'static str,
    k: u32,
    tier: Tier,
    mode: LockMode,
) -> Result<i32, FaasmError> {
    let key = key(c, call, k)?;
    let user = &ctx.call.user;
    let chainer = &ctx.chainer;
    lock(&ctx.local)
        .locks
        .lock(call, user, &key, tier, mode, ctx.call.deadline, |w| {
            chainer.blocking(w)
        })?;
    Ok(0)
}

fn state_unlock(
    ctx: &Inner,
    c: &mut Caller<'_>,
    call: &'static str,
    k: u32,
    tier: Tier,
    mode: LockMode,
) -> Result<i32, FaasmError> {
    let key = key(c, call, k)?;
    lock(&ctx.local)
        .locks
        .unlock(call, &ctx.call.user, &key, tier, mode)?;
    Ok(0)
}

/// Runs `f` on the Faaslet's regions with the caller's memory.
fn with_regions<T>(
    ctx: &Inner,
    c: &mut Caller<'_>,
    f: impl FnOnce(&mut Regions, &mut dyn RegionMemory, &StateRef<'_>) -> Result<T, FaasmError>,
) -> Result<T, FaasmError> {
    let st = StateRef {
        store: &ctx.state,
        user: &ctx.call.user,
        deadline: ctx.call.deadline,
    };
    let mut local = lock(&ctx.local);
    f(&mut local.regions, &mut CallerMemory(c), &st)
}

macro_rules! lock_fns {
    ($($name:literal => $f:ident, $tier:expr, $mode:expr;)*) => {
        &[$(($name, 1, false, |ctx, c, a| $f(ctx, c, $name, a[0], $tier, $mode)),)*]
    };
}

const LOCKS: &[(&str, usize, bool, Handler)] = lock_fns! {
    "__faasm_lock_state_read" => state_lock, Tier::Local, LockMode::Read;
    "__faasm_lock_state_write" => state_lock, Tier::Local, LockMode::Write;
    "__faasm_unlock_state_read" => state_unlock, Tier::Local, LockMode::Read;
    "__faasm_unlock_state_write" => state_unlock, Tier::Local, LockMode::Write;
    "__faasm_lock_state_global_read" => state_lock, Tier::Global, LockMode::Read;
    "__faasm_lock_state_global_write" => state_lock, Tier::Global, LockMode::Write;
    "__faasm_unlock_state_global_read" => state_unlock, Tier::Global, LockMode::Read;
    "__faasm_unlock_state_global_write" => state_unlock, Tier::Global, LockMode::Write;
};

/// `(name, number of i32 parameters, returns an i32, body)`.
const CALLS: &[(&str, usize, bool, Handler)] = &[
    ("__faasm_read_input", 2, true, |ctx, c, a| {
        io::read_input(&ctx.input, &mut mem(c), a[0], a[1])
    }),
    ("__faasm_write_output", 2, false, |ctx, c, a| {
        io::write_output(&ctx.output, ctx.output_limit, &mem(c), a[0], a[1]).map(|()| 0)
    }),
    ("__faasm_chain_name", 3, true, |ctx, c, a| {
        let held = chain::hold_input(c, "__faasm_chain_name", a[2])?;
        chain::chain_name(&*ctx.chainer, &ctx.call, &mem(c), a[0], a[1], a[2], held)
    }),
    ("__faasm_chain_ptr", 3, true, |ctx, c, a| {
        let held = chain::hold_input(c, "__faasm_chain_ptr", a[2])?;
        chain::chain_ptr(&*ctx.chainer, &ctx.call, &mem(c), a[0], a[1], a[2], held)
    }),
    ("__faasm_await_call", 1, true, |ctx, _, a| {
        chain::await_call(&*ctx.chainer, &ctx.call, a[0])
    }),
    ("__faasm_await_call_output", 3, true, |ctx, c, a| {
        // Wait without holding the Faaslet's lock, then take pages for the
        // output the way `mmap` would.
        let mut alloc = |m: &mut dyn RegionMemory, len: u32| {
            let addr = lock(&ctx.local).mman.mmap(m, len, 0, -1);
            // -4095..-1 are -errno; any other value is an address.
            if (-4095..0).contains(&addr) {
                Err(FaasmError::Grow {
                    call: "__faasm_await_call_output",
                    pages: u64::from(len).div_ceil(65536),
                })
            } else {
                Ok(addr as u32)
            }
        };
        chain::await_call_output(
            &*ctx.chainer,
            &ctx.call,
            &mut CallerMemory(c),
            &mut alloc,
            a[0],
            a[1],
            a[2],
        )
    }),
    ("__faasm_await_call_output_buffer", 3, true, |ctx, c, a| {
        chain::await_call_output_buffer(&*ctx.chainer, &ctx.call, &mut mem(c), a[0], a[1], a[2])
    }),
    ("__faasm_get_call_output_size", 1, true, |ctx, _, a| {
        chain::get_call_output_size(&*ctx.chainer, &ctx.call, a[0])
    }),
    ("__faasm_read_state", 3, true, |ctx, c, a| {
        const CALL: &str = "__faasm_read_state";
        let k = key(c, CALL, a[0])?;
        let deadline = ctx.call.deadline;
        ctx.state.fetch(CALL, &ctx.call.user, &k, deadline)?;
        let size = ctx.state.size(&ctx.call.user, &k);
        if a[2] != 0 {
            let mut m = mem(c);
            let dst = guest::slice_mut(&mut m, CALL, "guest buffer", a[1], a[2])?;
            let n = size.min(dst.len());
            ctx.state.read_at(&ctx.call.user, &k, 0, &mut dst[..n]);
        }
        Ok(i32::try_from(size).unwrap_or(i32::MAX))
    }),
    ("__faasm_read_state_offset", 5, false, |ctx, c, a| {
        const CALL: &str = "__faasm_read_state_offset";
        let k = key(c, CALL, a[0])?;
        ptr::check_state_range(CALL, a[1], a[2], a[4])?;
        // Only the chunks read are fetched.
        let range = a[2] as usize..a[2] as usize + a[4] as usize;
        let deadline = ctx.call.deadline;
        ctx.state
            .fetch_range(CALL, &ctx.call.user, &k, range, deadline)?;
        let mut m = mem(c);
        let dst = guest::slice_mut(&mut m, CALL, "guest buffer", a[3], a[4])?;
        ctx.state.read_at(&ctx.call.user, &k, a[2] as usize, dst);
        Ok(0)
    }),
    ("__faasm_write_state", 3, false, |ctx, c, a| {
        const CALL: &str = "__faasm_write_state";
        let k = key(c, CALL, a[0])?;
        let m = mem(c);
        let data = guest::slice(&m, CALL, "guest buffer", a[1], a[2])?;
        ctx.state.set(CALL, &ctx.call.user, &k, data)?;
        ctx.state
            .push(CALL, &ctx.call.user, &k, ctx.call.deadline)
            .map(|()| 0)
    }),
    ("__faasm_write_state_offset", 5, false, |ctx, c, a| {
        const CALL: &str = "__faasm_write_state_offset";
        let k = key(c, CALL, a[0])?;
        ptr::check_state_range(CALL, a[1], a[2], a[4])?;
        let m = mem(c);
        let data = guest::slice(&m, CALL, "guest buffer", a[3], a[4])?;
        // Only the chunks written are fetched (the rest of each must be
        // the global bytes, not zeros) and then pushed.
        let (user, deadline) = (&ctx.call.user, ctx.call.deadline);
        let range = a[2] as usize..a[2] as usize + a[4] as usize;
        ctx.state.fetch_range(CALL, user, &k, range, deadline)?;
        ctx.state
            .write_at(CALL, user, &k, a[1] as usize, a[2] as usize, data)?;
        ctx.state.push_partial(CALL, user, &k, deadline).map(|()| 0)
    }),
    ("__faasm_read_state_ptr", 2, true, |ctx, c, a| {
        const CALL: &str = "__faasm_read_state_ptr";
        let k = key(c, CALL, a[0])?;
        with_regions(ctx, c, |r, m, st| r.map(CALL, m, st, &k, a[1])).map(|p| p as i32)
    }),
    ("__faasm_read_state_offset_ptr", 4, true, |ctx, c, a| {
        const CALL: &str = "__faasm_read_state_offset_ptr";
        let k = key(c, CALL, a[0])?;
        with_regions(ctx, c, |r, m, st| {
            r.map_offset(CALL, m, st, &k, a[1], a[2], a[3])
        })
        .map(|p| p as i32)
    }),
    ("__faasm_push_state", 1, false, |ctx, c, a| {
        const CALL: &str = "__faasm_push_state";
        let k = key(c, CALL, a[0])?;
        with_regions(ctx, c, |r, m, st| r.push(CALL, m, st, &k, false)).map(|()| 0)
    }),
    ("__faasm_push_state_partial", 1, false, |ctx, c, a| {
        const CALL: &str = "__faasm_push_state_partial";
        let k = key(c, CALL, a[0])?;
        with_regions(ctx, c, |r, m, st| r.push(CALL, m, st, &k, true)).map(|()| 0)
    }),
    ("__faasm_push_state_partial_mask", 2, false, |ctx, c, a| {
        const CALL: &str = "__faasm_push_state_partial_mask";
        let k = key(c, CALL, a[0])?;
        let mask = key(c, CALL, a[1])?;
        with_regions(ctx, c, |r, m, st| r.push_masked(CALL, m, st, &k, &mask)).map(|()| 0)
    }),
    ("__faasm_write_state_from_file", 2, true, |ctx, c, a| {
        const CALL: &str = "__faasm_write_state_from_file";
        let k = key(c, CALL, a[0])?;
        let path = guest::read_cstr(&mem(c), CALL, "file path", a[1])?;
        let wasi = c.data::<crate::HostCtx>().map(|h| &h.wasi);
        state_file::write_state_from_file(
            &ctx.state,
            wasi,
            &ctx.call.user,
            &k,
            &path,
            DEFAULT_USER_STATE_LIMIT as u64,
            ctx.call.deadline,
        )
    }),
    ("__faasm_conf_flag", 1, true, |_, c, a| {
        let flag = guest::read_cstr(&mem(c), "__faasm_conf_flag", "flag name", a[0])?;
        Ok(conf::conf_flag(&flag) as i32)
    }),
    ("__faasm_backtrace", 1, false, |ctx, c, a| {
        let call = &ctx.call;
        let frames = c.wasm_backtrace();
        let note = conf::backtrace_note(&call.user, &call.function, call.id, a[0] as i32, &frames);
        eprintln!("{note}");
        Ok(0)
    }),
    ("__faasm_pull_state", 2, false, |ctx, c, a| {
        const CALL: &str = "__faasm_pull_state";
        let k = key(c, CALL, a[0])?;
        with_regions(ctx, c, |r, m, st| r.pull(CALL, m, st, &k, a[1])).map(|()| 0)
    }),
    ("__faasm_flag_state_dirty", 2, false, |ctx, c, a| {
        const CALL: &str = "__faasm_flag_state_dirty";
        let k = key(c, CALL, a[0])?;
        lock(&ctx.local)
            .regions
            .flag_dirty(CALL, &k, a[1], 0, a[1])
            .map(|()| 0)
    }),
    ("__faasm_flag_state_offset_dirty", 4, false, |ctx, c, a| {
        const CALL: &str = "__faasm_flag_state_offset_dirty";
        let k = key(c, CALL, a[0])?;
        lock(&ctx.local)
            .regions
            .flag_dirty(CALL, &k, a[1], a[2], a[3])
            .map(|()| 0)
    }),
    ("__faasm_append_state", 3, false, |ctx, c, a| {
        const CALL: &str = "__faasm_append_state";
        let k = key(c, CALL, a[0])?;
        let m = mem(c);
        let data = guest::slice(&m, CALL, "guest buffer", a[1], a[2])?;
        ctx.state
            .append(CALL, &ctx.call.user, &k, data, ctx.call.deadline)
            .map(|()| 0)
    }),
    ("__faasm_read_appended_state", 4, false, |ctx, c, a| {
        const CALL: &str = "__faasm_read_appended_state";
        let k = key(c, CALL, a[0])?;
        let mut m = mem(c);
        let dst = guest::slice_mut(&mut m, CALL, "guest buffer", a[1], a[2])?;
        let (user, deadline) = (&ctx.call.user, ctx.call.deadline);
        let elems = ctx
            .state
            .appended(CALL, user, &k, a[3] as usize, deadline)?;
        let n = elems.len().min(dst.len());
        dst[..n].copy_from_slice(&elems[..n]);
        Ok(0)
    }),
    ("__faasm_clear_appended_state", 1, false, |ctx, c, a| {
        const CALL: &str = "__faasm_clear_appended_state";
        let k = key(c, CALL, a[0])?;
        ctx.state
            .clear_appended(CALL, &ctx.call.user, &k, ctx.call.deadline)
            .map(|()| 0)
    }),
];

/// Every Faasm call: `(name, i32 parameters, returns an i32)`.
pub fn functions() -> impl Iterator<Item = (&'static str, usize, bool)> {
    CALLS.iter().chain(LOCKS).map(|(n, p, r, _)| (*n, *p, *r))
}

/// The POSIX memory calls: `(name, parameters, body)`; each returns an
/// i32 (see [`mman`] for the semantics).
type MmanBody = fn(&mut mman::Mman, &mut dyn RegionMemory, &[Val]) -> i32;
const MMAN: &[(&str, &[ValType], MmanBody)] = &[
    (
        "mmap",
        &[
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I64,
        ],
        |m, mem, a| m.mmap(mem, arg_u32(a, 1), arg_u32(a, 3), arg_u32(a, 4) as i32),
    ),
    ("munmap", &[ValType::I32, ValType::I32], |m, _, a| {
        m.munmap(arg_u32(a, 0), arg_u32(a, 1))
    }),
    ("__sbrk", &[ValType::I32], |m, mem, a| {
        m.sbrk(mem, arg_u32(a, 0) as i32)
    }),
];

fn arg_u32(args: &[Val], i: usize) -> u32 {
    match args.get(i) {
        Some(Val::I32(v)) => *v as u32,
        // The runtime type-checks imports at link time.
        _ => 0,
    }
}

/// Where a defined function finds its Faaslet's context.
#[derive(Clone)]
enum Source {
    /// Bound to one Faaslet ([`add_to_linker`]).
    Fixed(Arc<Inner>),
    /// The calling instance's [`crate::HostCtx`] ([`add_to_linker_shared`]).
    Instance,
}

impl Source {
    fn get<'s, 'a: 's>(&'s self, caller: &Caller<'a>, call: &str) -> Result<&'s Inner, Trap> {
        match self {
            Source::Fixed(inner) => Ok(inner),
            Source::Instance => crate::HostCtx::of(caller, call)?
                .faasm
                .as_ref()
                .map(|f| &*f.inner)
                .ok_or_else(|| {
                    Trap::host(format!("{call}: the calling instance has no Faasm context"))
                }),
        }
    }
}

fn define(linker: &mut Linker, source: Source) {
    for &(name, params, body) in MMAN {
        let ty = FuncType::new(params.to_vec(), vec![ValType::I32]);
        let source = source.clone();
        linker.func_new(MODULE, name, ty, move |caller, params, results| {
            let inner = source.get(caller, name)?;
            let mut local = lock(&inner.local);
            let r = body(&mut local.mman, &mut CallerMemory(caller), params);
            if let Some(slot) = results.first_mut() {
                *slot = Val::I32(r);
            }
            Ok(())
        });
    }
    for &(name, nparams, result, body) in CALLS.iter().chain(LOCKS) {
        let source = source.clone();
        let call = move |caller: &mut Caller<'_>, args: &[u32]| {
            let inner = source.get(caller, name)?;
            body(inner, caller, args).map_err(FaasmError::into_trap)
        };
        // Typed host functions: the arguments come straight from the
        // guest's value slots, as plain u32s.
        macro_rules! wrap {
            ($($a:ident),*) => {
                if result {
                    linker.func_wrap(MODULE, name, move |c: &mut Caller<'_>, $($a: u32),*| {
                        call(c, &[$($a),*])
                    })
                } else {
                    linker.func_wrap(MODULE, name, move |c: &mut Caller<'_>, $($a: u32),*| {
                        call(c, &[$($a),*]).map(drop)
                    })
                }
            };
        }
        match nparams {
            0 => wrap!(),
            1 => wrap!(a0),
            2 => wrap!(a0, a1),
            3 => wrap!(a0, a1, a2),
            4 => wrap!(a0, a1, a2, a3),
            5 => wrap!(a0, a1, a2, a3, a4),
            n => unreachable!("{name}: no Faasm call takes {n} parameters"),
        };
    }
}

/// Defines every `__faasm_*` call and the POSIX memory calls (`mmap`,
/// `munmap`, `__sbrk`) in `linker` under [`MODULE`], all for the Faaslet
/// of `ctx`.
pub fn add_to_linker(linker: &mut Linker, ctx: &FaasmCtx) {
    define(linker, Source::Fixed(ctx.inner.clone()));
}

/// The same calls for instances made with `Linker::instantiate_with` and
/// a [`crate::HostCtx`] holding their [`FaasmCtx`]: one linker serves every
/// Faaslet.
pub fn add_to_linker_shared(linker: &mut Linker) {
    define(linker, Source::Instance);
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_errors_are_typed_traps() {
        use faasm_runtime::HostErrorKind as K;
        let kind = |e: FaasmError| e.into_trap().host_kind();
        assert_eq!(
            kind(FaasmError::DeadlinePassed { call: "c" }),
            Some(K::DeadlinePassed)
        );
        assert_eq!(
            kind(FaasmError::OutputLimit { len: 2, limit: 1 }),
            Some(K::LimitExceeded)
        );
        assert_eq!(
            kind(FaasmError::Grow {
                call: "c",
                pages: 1
            }),
            Some(K::Failed)
        );
    }

    use super::*;

    #[test]
    fn every_abi_function_is_defined_once() {
        let names: Vec<_> = functions().map(|f| f.0).collect();
        assert_eq!(names.len(), 34);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert!(names.iter().all(|n| n.starts_with("__faasm_")));
    }
}
