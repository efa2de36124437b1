//! Functions as the embedder sees them: [`Func`] (wasm code of an
//! instance, or a host closure), typed host closures, and the [`Caller`]
//! a host function gets (the calling instance's memory, data, budget and
//! wasm backtrace).

use crate::instance::InstanceInner;
use crate::vm::{HOST_CTX_TAG, HostFuncCtx, VMFuncRef};
use crate::{Error, Extern, Instance, Memory, Trap, Val};
use faasm_abi::FuncType;
use std::sync::{Arc, OnceLock};

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

pub(crate) struct HostFuncInner {
    pub ty: FuncType,
    pub type_id: u32,
    pub func: Box<HostFn>,
    /// What `VMFuncRef.vmctx` points at for this function; stable address.
    pub ctx: Box<HostFuncCtx>,
    /// A funcref usable anywhere, built on first need (see `host_value`).
    standalone: OnceLock<crate::host_value::StandaloneRef>,
}

// SAFETY: the context holds only a function pointer and a pointer back to
// this (immutable, Send + Sync) object.
unsafe impl Send for HostFuncInner {}
// SAFETY: as above.
unsafe impl Sync for HostFuncInner {}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            FuncKind::Wasm { index, .. } => f.debug_struct("Func").field("wasm", index).finish(),
            FuncKind::Host(h) => f.debug_struct("Func").field("host", &h.ty).finish(),
        }
    }
}

impl Func {
    /// A host function of type `ty`.
    pub fn new(
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        let type_id = crate::types::canonical_id(&ty);
        let inner = Arc::new_cyclic(|me: &std::sync::Weak<HostFuncInner>| HostFuncInner {
            ty,
            type_id,
            func: Box::new(f),
            ctx: Box::new(HostFuncCtx {
                dispatch: crate::sys::entry::host_dispatch_entry,
                _reserved: [0; 3],
                tag: HOST_CTX_TAG,
                owner: me.as_ptr().cast(),
            }),
            standalone: OnceLock::new(),
        });
        Func {
            kind: FuncKind::Host(inner),
        }
    }

    /// The function's signature.
    pub fn ty(&self) -> FuncType {
        match &self.kind {
            FuncKind::Wasm { instance, index } => instance.module.info().func_type(*index).clone(),
            FuncKind::Host(h) => h.ty.clone(),
        }
    }

    /// Calls the function. Arguments are checked against its type
    /// (`Error::Usage` on a mismatch); a trap is `Error::Trap`.
    pub fn call(&self, args: &[Val]) -> Result<Vec<Val>, Error> {
        match &self.kind {
            FuncKind::Wasm { instance, index } => crate::call::call_wasm(instance, *index, args),
            FuncKind::Host(h) => crate::call::call_host(h, args),
        }
    }

    /// Whether two handles denote the same function.
    pub fn same(&self, other: &Func) -> bool {
        match (&self.kind, &other.kind) {
            (
                FuncKind::Wasm {
                    instance: a,
                    index: i,
                },
                FuncKind::Wasm {
                    instance: b,
                    index: j,
                },
            ) => Arc::ptr_eq(a, b) && i == j,
            (FuncKind::Host(a), FuncKind::Host(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The `VMFuncRef` that represents this function as a reference value.
    pub(crate) fn funcref_ptr(&self) -> Result<*const VMFuncRef, Error> {
        match &self.kind {
            FuncKind::Wasm { instance, index } => Ok(instance.vmctx.funcref_ptr(*index)),
            FuncKind::Host(h) => crate::host_value::standalone_funcref(h),
        }
    }

    /// The handle for a funcref value found in a table, global or result.
    ///
    /// # Safety
    /// `ptr` must be null or point to a live `VMFuncRef` whose owner (an
    /// instance or a host function) is alive.
    pub(crate) unsafe fn from_funcref_ptr(ptr: *const VMFuncRef) -> Option<Func> {
        if ptr.is_null() {
            return None;
        }
        // SAFETY: per the contract.
        let r = unsafe { ptr.read() };
        // SAFETY: both vmctx and host contexts have a word at INSTANCE.
        let tag = unsafe { crate::vm::vmctx::instance_ptr(r.vmctx) } as usize;
        if tag == HOST_CTX_TAG {
            // SAFETY: a host context; its owner is alive per the contract.
            let owner = unsafe { (*(r.vmctx as *const HostFuncCtx)).owner } as *const HostFuncInner;
            // SAFETY: `owner` came from an `Arc` that is still alive.
            let inner = unsafe {
                Arc::increment_strong_count(owner);
                Arc::from_raw(owner)
            };
            return Some(Func {
                kind: FuncKind::Host(inner),
            });
        }
        // SAFETY: a wasm context's instance is alive per the contract.
        let instance = unsafe { InstanceInner::arc_from_ptr(tag as *const InstanceInner) };
        let index = instance.module.code().func_index_at(r.code as usize)?;
        Some(Func {
            kind: FuncKind::Wasm { instance, index },
        })
    }
}

impl HostFuncInner {
    pub(crate) fn standalone_get(&self) -> Option<&crate::host_value::StandaloneRef> {
        self.standalone.get()
    }

    pub(crate) fn standalone_init(
        &self,
        s: crate::host_value::StandaloneRef,
    ) -> &crate::host_value::StandaloneRef {
        // A concurrent initialiser may win; either value is equivalent.
        let _ = self.standalone.set(s);
        self.standalone.get().expect("just set")
    }
}

/// The calling instance, as seen from a host function.
pub struct Caller<'a> {
    pub(crate) instance: Option<&'a InstanceInner>,
    /// The frame pointer of the host trampoline compiled code called (0
    /// when the host function was called from the host).
    pub(crate) exit_fp: usize,
}

impl<'a> Caller<'a> {
    /// The wasm functions on the stack of this host call, innermost (the
    /// one that called the host) first; empty when called from the host.
    pub fn wasm_backtrace(&self) -> crate::Backtrace {
        let mut frames = crate::sys::backtrace::RawFrames::EMPTY;
        if let Some(stop) = crate::sys::signals::innermost_entry_sp() {
            let here = crate::sys::stack::current_sp();
            // Only a frame pointer of this thread's stack between here and
            // the innermost entry is walked (a `Caller` handed to another
            // thread finds nothing).
            if self.exit_fp > here {
                // SAFETY: `[here, stop)` is this thread's live stack: the
                // frames of this host call, of the trampoline and of the
                // wasm code below the innermost entry.
                unsafe { crate::sys::backtrace::walk(self.exit_fp, here, stop, &mut frames) };
            }
        }
        crate::call::resolve_frames(None, &frames)
    }

    /// Charges `bytes` the host is about to hold for the calling instance
    /// (beyond its call) to the instance's memory budget, until the
    /// returned charge is dropped. `Err` past the budget.
    pub fn charge_host_bytes(&self, bytes: u64) -> Result<crate::HostCharge, crate::OverBudget> {
        match self.instance {
            Some(inner) => crate::HostCharge::take(&inner.budget, bytes),
            None => Ok(crate::HostCharge::none()),
        }
    }

    /// The data the calling instance was made with
    /// ([`crate::Linker::instantiate_with`]), if it is a `T`. Borrowed from
    /// the instance, not from this `Caller`, so it can be held while the
    /// caller's memory is borrowed mutably.
    pub fn data<T: std::any::Any>(&self) -> Option<&'a T> {
        let inner = self.instance?;
        // SAFETY: the data is only replaced by `Instance::set_data`, which
        // requires that no call runs; this `Caller` exists only during one.
        let data = unsafe { &*inner.data.get() };
        data.as_deref()?.downcast_ref::<T>()
    }

    /// The caller's memory 0, if it has one.
    pub fn memory(&self) -> Option<Memory> {
        let inner = self.instance?;
        if inner.memories.is_empty() {
            return None;
        }
        // SAFETY: the caller instance is alive for the duration of the call.
        Some(unsafe { InstanceInner::arc_from_ptr(inner) }.memory(0))
    }

    /// The caller's memory 0 as a byte slice, valid for this host call.
    /// Host functions bounds-check guest pointers against it.
    pub fn memory_mut(&mut self) -> Option<&mut [u8]> {
        let mem = &self.instance?.memories.first()?.inner;
        let base = mem.checked_ptr(0, 0).ok()?;
        // SAFETY: the memory's first `len` bytes are accessible and stay so
        // for this host call (the borrow of `self` prevents the caller from
        // growing it through this `Caller` meanwhile).
        Some(unsafe { std::slice::from_raw_parts_mut(base, mem.len()) })
    }

    /// An export of the calling instance.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let inner = self.instance?;
        let instance = Instance {
            // SAFETY: the caller instance is alive for the duration of the call.
            inner: unsafe { InstanceInner::arc_from_ptr(inner) },
        };
        instance.get_export(name)
    }
}
