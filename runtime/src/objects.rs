//! The runtime's object graph: an instance holds the functions it
//! imports, and a function of wasm code holds its instance. These types
//! refer to each other, so they are defined together here, below every
//! module that works with them; their behaviour lives above: the
//! [`crate::Instance`] API in `instance.rs`, [`Func`]'s in `func.rs`, calls
//! in `call.rs`, what a host function sees in `caller.rs`.

use crate::host_value::StandaloneRef;
use crate::interrupt::InterruptHandle;
use crate::keepalive::KeepAlive;
use crate::vm::{HostFuncCtx, VMContext, VMFuncRef};
use crate::{Caller, Error, Global, Memory, Module, Table, Trap, Val};
use faasm_abi::FuncType;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

/// What an [`crate::Instance`] handle shares: everything its code reaches
/// through its vmctx, and what keeps that alive.
pub(crate) struct InstanceInner {
    pub module: Module,
    pub vmctx: VMContext,
    /// Handles of the imported functions (index = function index).
    pub imported_funcs: Vec<Func>,
    /// Every memory / table / global in index order, imported ones first.
    pub memories: Vec<Memory>,
    pub tables: Vec<Table>,
    pub globals: Vec<Global>,
    /// `data.drop` state per data segment.
    pub data_dropped: Vec<AtomicBool>,
    /// Evaluated element segments; `None` once dropped.
    pub elems: Mutex<Vec<Option<Box<[u64]>>>>,
    /// Owners of functions this instance may reference.
    pub keepalive: KeepAlive,
    /// What its memories, tables and the host's charges on its behalf
    /// share (`Config::max_memory_pages`).
    pub budget: Option<Arc<crate::budget::Budget>>,
    /// Contexts of instances whose functions this one calls directly
    /// (transitively): they get the same stack limit on entry.
    pub peers: Vec<*const VMContext>,
    /// The embedder's per-instance data ([`crate::Linker::instantiate_with`]),
    /// which host functions reach through [`crate::Caller::data`]: one
    /// linker can then serve every instance.
    /// Replaced only through [`crate::Instance::set_data`], which proves no call
    /// (hence no [`crate::Caller`] borrowing it) can be running.
    pub data: std::cell::UnsafeCell<Option<HostData>>,
    /// The group that stops this instance (joined before any of its code
    /// ran).
    pub interrupt: InterruptHandle,
}

/// What an embedder attaches to an instance.
pub type HostData = Arc<dyn std::any::Any + Send + Sync>;

// SAFETY: `peers` point at contexts of instances kept alive through
// `imported_funcs`; everything else is Send + Sync.
unsafe impl Send for InstanceInner {}
// SAFETY: as above.
unsafe impl Sync for InstanceInner {}

/// A host function's body: reads `params`, writes every slot of `results`
/// (pre-filled with zero values of the right types).
pub type HostFn = dyn Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync;

/// A function: wasm code of some instance, or a host closure. Cheap to clone.
#[derive(Clone)]
pub struct Func {
    pub(crate) kind: FuncKind,
}

#[derive(Clone)]
pub(crate) enum FuncKind {
    /// Function `index` of `instance`; always one the instance defines
    /// (imported functions are represented by their original handle).
    Wasm {
        instance: Arc<InstanceInner>,
        index: u32,
    },
    Host(Arc<HostFuncInner>),
}

/// A host function's body, as the embedder gave it.
pub(crate) enum HostCode {
    /// Over [`Val`] slices ([`Func::new`]).
    Dynamic(Box<HostFn>),
    /// Over the raw slots, typed by a closure's signature ([`Func::wrap`]).
    Typed(Box<crate::typed::RawHostFn>),
}

pub(crate) struct HostFuncInner {
    pub ty: FuncType,
    pub type_id: u32,
    pub code: HostCode,
    /// What `VMFuncRef.vmctx` points at for this function; stable address.
    pub ctx: Box<HostFuncCtx>,
    /// A funcref usable anywhere, built on first need (see `host_value`).
    pub(crate) standalone: OnceLock<StandaloneRef>,
}

// SAFETY: the context holds only a function pointer and a pointer back to
// this (immutable, Send + Sync) object.
unsafe impl Send for HostFuncInner {}
// SAFETY: as above.
unsafe impl Sync for HostFuncInner {}

impl HostFuncInner {
    /// The `VMFuncRef` of this function as a plain value, usable without
    /// any importing module (built on first need, see `host_value`).
    pub(crate) fn standalone_funcref(&self) -> Result<*const VMFuncRef, Error> {
        if let Some(s) = self.standalone.get() {
            return Ok(s.funcref());
        }
        let s = StandaloneRef::new(&self.ty, self.type_id, &self.ctx)?;
        // A concurrent initialiser may win; either value is equivalent.
        let _ = self.standalone.set(s);
        Ok(self.standalone.get().expect("just set").funcref())
    }
}

impl KeepAlive {
    /// Holds the owner of `f` (its instance, or the host function).
    pub fn hold_func(&self, f: &Func) {
        match &f.kind {
            FuncKind::Wasm { instance, .. } => self.hold(instance.clone()),
            FuncKind::Host(h) => self.hold(h.clone()),
        }
    }
}

impl crate::interrupt::Member for InstanceInner {
    fn interrupt_flag(&self) -> &std::sync::atomic::AtomicU64 {
        self.vmctx.interrupt_flag()
    }
}
