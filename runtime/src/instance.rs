//! Instances: the vmctx and what it points at (memories, tables,
//! globals, function references), exports, and the lifetime rules that
//! keep imported instances alive.

use crate::interrupt::InterruptHandle;
use crate::objects::{Func, FuncKind, HostData, InstanceInner};
use crate::{Error, Extern, Memory, Module, Table};
use faasm_abi::ExportKind;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// An instantiated module. Cheap to clone; lives while any handle (or any
/// instance that imported from it) does.
#[derive(Clone)]
pub struct Instance {
    pub(crate) inner: Arc<InstanceInner>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("module", &self.inner.module)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// The module this is an instance of.
    pub fn module(&self) -> &Module {
        &self.inner.module
    }

    /// The export called `name`, if any.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let e = self.inner.module.info().export(name)?;
        Some(self.inner.export(e.kind, e.index))
    }

    /// The exported function called `name`, if that export is a function.
    pub fn get_func(&self, name: &str) -> Option<Func> {
        match self.get_export(name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The exported memory called `name`, if that export is a memory.
    pub fn get_memory(&self, name: &str) -> Option<Memory> {
        match self.get_export(name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// All exports, in module order.
    pub fn exports(&self) -> Vec<(String, Extern)> {
        self.inner
            .module
            .info()
            .exports
            .iter()
            .map(|e| (e.name.clone(), self.inner.export(e.kind, e.index)))
            .collect()
    }

    /// Table `index` (imported or defined), exported or not: embedders
    /// need table 0 to call guest function pointers (wasm-ld does not
    /// export it by default).
    pub fn table(&self, index: u32) -> Option<Table> {
        if index as usize >= self.inner.tables.len() {
            return None;
        }
        match self.inner.export(ExportKind::Table, index) {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }

    /// Replaces the data host functions find with [`crate::Caller::data`]
    /// (to reuse an instance for another call). Needs the only handle to
    /// the instance, as [`Instance::reset`] does.
    pub fn set_data(&mut self, data: Option<HostData>) -> Result<(), Error> {
        self.exclusive("change the data of")?;
        // SAFETY: this is the only strong handle (checked above), so no
        // call runs and no `Caller` borrows the data; `&mut self` keeps it
        // so until we return. Weak handles (the interrupt group) never
        // touch the data.
        unsafe { *self.inner.data.get() = data };
        Ok(())
    }

    pub(crate) fn exclusive(&self, what: &str) -> Result<(), Error> {
        match Arc::strong_count(&self.inner) {
            1 => Ok(()),
            n => Err(Error::Usage(format!(
                "cannot {what} an instance with {} other handles (a call or an export handle)",
                n - 1
            ))),
        }
    }

    /// The handle that stops this instance's running wasm from any thread
    /// (and the rest of its group: see [`InterruptHandle`]).
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.inner.interrupt.clone()
    }
}

impl InstanceInner {
    fn export(self: &Arc<Self>, kind: ExportKind, index: u32) -> Extern {
        let i = index as usize;
        match kind {
            ExportKind::Func => Extern::Func(self.func(index)),
            ExportKind::Memory => Extern::Memory(self.memory(index)),
            ExportKind::Table => {
                let mut t = self.tables[i].clone();
                if index >= self.module.info().num_imported_tables {
                    t.owner = Some(self.clone());
                }
                Extern::Table(t)
            }
            ExportKind::Global => {
                let mut g = self.globals[i].clone();
                if index >= self.module.info().num_imported_globals {
                    g.owner = Some(self.clone());
                }
                Extern::Global(g)
            }
        }
    }

    /// A handle to memory `index` that keeps its defining instance alive.
    pub fn memory(self: &Arc<Self>, index: u32) -> Memory {
        let mut m = self.memories[index as usize].clone();
        if index >= self.module.info().num_imported_memories {
            m.owner = Some(self.clone());
        }
        m
    }

    /// The handle of function `index` of this instance.
    pub fn func(self: &Arc<Self>, index: u32) -> Func {
        match self.imported_funcs.get(index as usize) {
            Some(f) => f.clone(),
            None => Func {
                kind: FuncKind::Wasm {
                    instance: self.clone(),
                    index,
                },
            },
        }
    }

    /// Gives this instance (and those it calls directly) the thread's
    /// stack limit.
    pub fn set_stack_limit(&self, limit: usize) {
        self.vmctx.set_stack_limit(limit);
        for peer in &self.peers {
            // SAFETY: peers are kept alive by our imported function handles.
            unsafe { (**peer).set_stack_limit(limit) };
        }
    }

    /// A strong handle from the pointer stored in a vmctx.
    ///
    /// # Safety
    /// `ptr` must come from `Arc::as_ptr` of an `InstanceInner` that is
    /// still alive.
    pub unsafe fn arc_from_ptr(ptr: *const InstanceInner) -> Arc<InstanceInner> {
        // SAFETY: per the contract, the allocation is a live Arc.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }

    /// The instance owning `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be the live context of an instance; the returned
    /// reference must not outlive the instance.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut u8) -> &'a InstanceInner {
        // SAFETY: per the contract.
        unsafe { &*(crate::vm::vmctx::instance_ptr(vmctx) as *const InstanceInner) }
    }

    pub fn data_segment(&self, index: u32) -> &[u8] {
        let i = index as usize;
        if self.data_dropped[i].load(Ordering::Relaxed) {
            &[]
        } else {
            &self.module.info().data[i].bytes
        }
    }

    pub fn drop_data(&self, index: u32) {
        self.data_dropped[index as usize].store(true, Ordering::Relaxed);
    }

    pub fn drop_elem(&self, index: u32) {
        self.elems.lock().unwrap_or_else(|e| e.into_inner())[index as usize] = None;
    }
}
