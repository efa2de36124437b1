//! Functions as the embedder sees them: [`Func`]'s API (wasm code of an
//! instance, or a host closure; the type itself is in `objects.rs`) and
//! typed host closures. What a host function gets is in `caller.rs`.

use crate::objects::{Func, FuncKind, HostCode, HostFuncInner, InstanceInner};
use crate::typed::{IntoHostFunc, RawVal};
use crate::vm::{HOST_CTX_TAG, HostFuncCtx, VMFuncRef};
use crate::{Caller, Error, Trap, Val};
use faasm_abi::FuncType;
use std::sync::{Arc, OnceLock};

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            FuncKind::Wasm { index, .. } => f.debug_struct("Func").field("wasm", index).finish(),
            FuncKind::Host(h) => f.debug_struct("Func").field("host", &h.ty).finish(),
        }
    }
}

impl Func {
    /// A host function of type `ty` over [`Val`] slices (for any type,
    /// references and vectors included). For numbers, [`Func::wrap`] is
    /// simpler and cheaper per call.
    pub fn new(
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        Func::from_code(ty, HostCode::Dynamic(Box::new(f)))
    }

    pub(crate) fn from_code(ty: FuncType, code: HostCode) -> Func {
        let type_id = crate::types::canonical_id(&ty);
        let inner = Arc::new_cyclic(|me: &std::sync::Weak<HostFuncInner>| HostFuncInner {
            ty,
            type_id,
            code,
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
            FuncKind::Host(h) => h.standalone_funcref(),
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

impl Func {
    /// A host function whose wasm type is the closure's: `i32`/`u32` are
    /// `i32`, `i64`/`u64` are `i64`, `f32` and `f64` themselves; the
    /// result is `()` (none) or one of those, inside `Result<_, Trap>`.
    ///
    /// ```
    /// # use faasm_runtime::{Caller, Func, FuncType, Trap, ValType, Val};
    /// let add = Func::wrap(|_: &mut Caller<'_>, a: i32, b: i32| -> Result<i32, Trap> {
    ///     Ok(a.wrapping_add(b))
    /// });
    /// assert_eq!(add.ty(), FuncType::new([ValType::I32, ValType::I32], [ValType::I32]));
    /// let sum = add.call(&[Val::I32(2), Val::I32(3)]).unwrap();
    /// assert!(matches!(sum[..], [Val::I32(5)]));
    /// ```
    pub fn wrap<Params, Results>(f: impl IntoHostFunc<Params, Results>) -> Func {
        let (ty, body) = f.into_raw();
        Func::from_code(ty, HostCode::Typed(body))
    }

    /// A host function of type `ty` (numbers and vectors only:
    /// `Error::Usage` for a reference type) whose body reads its
    /// parameters from the first slots and writes its results from slot 0
    /// (there are `max(params, results)` slots). For a function whose type
    /// is known only at run time; otherwise [`Func::wrap`] is simpler.
    pub fn new_raw(
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &mut [RawVal]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Result<Func, crate::Error> {
        if let Some(t) = ty.params.iter().chain(&ty.results).find(|t| t.is_ref()) {
            return Err(crate::Error::Usage(format!(
                "Func::new_raw takes numbers and vectors only, not {t}"
            )));
        }
        Ok(Func::from_code(ty, HostCode::Typed(Box::new(f))))
    }
}
