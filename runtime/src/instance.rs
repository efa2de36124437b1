//! Instances: the vmctx and what it points at (memories, tables,
//! globals, function references), exports, and the lifetime rules that
//! keep imported instances alive.

use crate::func::FuncKind;
use crate::interrupt::InterruptHandle;
use crate::keepalive::KeepAlive;
use crate::vm::VMContext;
use crate::{Error, Extern, Func, Global, Memory, Module, Table};
use faasm_abi::ExportKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// An instantiated module. Cheap to clone; lives while any handle (or any
/// instance that imported from it) does.
#[derive(Clone)]
pub struct Instance {
    pub(crate) inner: Arc<InstanceInner>,
}

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
    /// Replaced only through [`Instance::set_data`], which proves no call
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
