//! A loaded function: its module, its Proto-Faaslet (the snapshot every
//! call starts from) and the Faaslets idle between calls.
//!
//! The snapshot is read from `function.snap` beside the artifact, or made
//! (and stored) the first time the function is loaded: the module is
//! instantiated and initialised once ([`faasm_snapshot::initialise`]) under
//! the call limits, with a throw-away WASI and Faasm context. Whatever is
//! wrong with a stored snapshot (corrupted, another artifact, another
//! format) only means it is made again; whatever makes initialisation fail
//! (a trap, an exit, a module whose state cannot be captured) means the
//! function runs without a snapshot, initialising per call, so the call
//! itself reports the failure.

use super::Shared;
use super::setup::{wasi_ctx, watch};
use faasm_hostif::HostCtx;
use faasm_hostif::faasm::{CallCtx, FaasmCtx};
use faasm_hostif::wasi::OutputPipe;
use faasm_runtime::{Instance, InstanceOptions, InterruptHandle, Module, Snapshot};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Reset Faaslets kept per function for the next calls; more are dropped.
pub(crate) const IDLE_PER_FUNCTION: usize = 16;

pub(crate) struct Function {
    module: Module,
    snapshot: Option<Snapshot>,
    /// Faaslets restored from `snapshot`, reset after their last call.
    idle: Mutex<Vec<Instance>>,
}

impl Function {
    pub fn module(&self) -> &Module {
        &self.module
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    pub fn take_idle(&self) -> Option<Instance> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Keeps a reset Faaslet for a later call (dropped if enough are kept).
    pub fn give_idle(&self, instance: Instance) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_PER_FUNCTION {
            idle.push(instance);
        }
    }

    /// Faaslets idle now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Loads `user/func`'s module and, if the executor uses snapshots, its
/// Proto-Faaslet.
pub(crate) fn load(
    shared: &Shared,
    user: &str,
    func: &str,
) -> Result<Function, super::store::StoreError> {
    let (module, fingerprint) = shared
        .store
        .load_with_fingerprint(&shared.engine, user, func)?;
    let snapshot = if shared.config.snapshots {
        proto_faaslet(shared, user, func, &module, &fingerprint)
    } else {
        None
    };
    Ok(Function {
        module,
        snapshot,
        idle: Mutex::default(),
    })
}

fn proto_faaslet(
    shared: &Shared,
    user: &str,
    func: &str,
    module: &Module,
    fingerprint: &[u8; 32],
) -> Option<Snapshot> {
    if let Some(bytes) = shared.store.read_snapshot(user, func)
        && let Ok(s) = faasm_snapshot::decode(&bytes, module, fingerprint)
    {
        return Some(s);
    }
    let snapshot = initialise(shared, user, func, module)?;
    if let Ok(bytes) = faasm_snapshot::encode(&snapshot, fingerprint) {
        // Best effort: without the file the next process makes it again.
        let _ = shared.store.write_snapshot(user, func, &bytes);
    }
    Some(snapshot)
}

/// Initialises `module` once, as a call with no input would see it.
fn initialise(shared: &Shared, user: &str, func: &str, module: &Module) -> Option<Snapshot> {
    let call = CallCtx {
        id: shared.new_call_id(),
        user: user.to_string(),
        function: func.to_string(),
        deadline: shared.config.limits.timeout.map(|t| Instant::now() + t),
    };
    let stdout = OutputPipe::with_limit(shared.config.limits.max_output);
    let wasi = wasi_ctx(shared, &call, func, &stdout).ok()?;
    let ctx = FaasmCtx::new(
        call.clone(),
        Vec::new(),
        shared.config.limits.max_output,
        shared.chainer(),
        shared.state.clone(),
    );
    let host = HostCtx {
        wasi,
        faasm: Some(ctx.clone()),
    };
    let interrupt = InterruptHandle::new();
    let _watch = watch(shared, call.deadline, &interrupt);
    let opts = InstanceOptions {
        data: Some(Arc::new(host)),
        interrupt: Some(interrupt),
    };
    let snapshot = faasm_snapshot::initialise(&shared.linker, module, opts);
    ctx.release_locks();
    snapshot.ok()
}
