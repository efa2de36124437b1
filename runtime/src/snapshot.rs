//! Snapshots of initialised instances: the runtime half of Proto-Faaslets.
//!
//! [`Snapshot::capture`] records everything an instance's own definitions
//! hold after initialisation: each defined memory's size and contents (in a
//! sealed memfd image, see `sys/image.rs`), each defined table's elements,
//! each defined global's value, and which data and element segments are
//! dropped. [`crate::Linker::instantiate_snapshot`] makes a new instance in
//! that state without running segments, start function or initialisers:
//! its memories map the image copy-on-write, so untouched pages are shared
//! by every instance restored from one snapshot.
//!
//! What a snapshot cannot hold is refused when capturing: imported
//! memories, tables or globals (their state belongs to someone else), host
//! references (`externref`), and function references into other instances.
//! A function reference is stored as the index of the instance's own
//! function (imported or defined), so it means the same thing in every
//! instance of the module.
//!
//! [`SnapshotParts`] is the snapshot as plain data, for storing it; parts
//! loaded back are checked against the module ([`Snapshot::from_parts`]).

use crate::objects::InstanceInner;
use crate::sys::image::MemoryImage;
use crate::vm::VMFuncRef;
use crate::{Error, Instance, Module};
use faasm_abi::{EntityType, ValType, WASM_PAGE_SIZE};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A reference held by a table or global of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapRef {
    /// The null reference.
    Null,
    /// Function `index` of the instance (imports first).
    Func(u32),
}

/// A global's value in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapValue {
    /// A number or vector: the value's bits in a 16-byte slot.
    Bits(u128),
    /// A reference global's value (a function, or null).
    Ref(SnapRef),
}

/// One defined memory as plain data: its size and its non-zero bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryParts {
    /// Its size in wasm pages.
    pub pages: u64,
    /// `(offset, bytes)`, sorted, not overlapping; everything else is zero.
    pub runs: Vec<(u64, Vec<u8>)>,
}

/// A snapshot as plain data (what the snapshot file stores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotParts {
    /// The defined memories, in index order.
    pub memories: Vec<MemoryParts>,
    /// The defined tables' elements (their length is the table's size).
    pub tables: Vec<Vec<SnapRef>>,
    /// The defined globals' values.
    pub globals: Vec<SnapValue>,
    /// Per data segment, whether it has been dropped (its bytes are no
    /// longer available to `memory.init`).
    pub data_dropped: Vec<bool>,
    /// Per element segment, whether it has been dropped (no longer
    /// available to `table.init`).
    pub elems_dropped: Vec<bool>,
}

/// A restorable snapshot of one instance of a module. Cheap to clone.
#[derive(Clone)]
pub struct Snapshot {
    pub(crate) inner: Arc<SnapshotInner>,
}

pub(crate) struct SnapshotInner {
    pub module: Module,
    pub memories: Vec<MemoryState>,
    pub tables: Vec<Vec<SnapRef>>,
    pub globals: Vec<SnapValue>,
    pub data_dropped: Vec<bool>,
    pub elems_dropped: Vec<bool>,
}

pub(crate) struct MemoryState {
    pub pages: u64,
    pub image: Arc<MemoryImage>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field(
                "memory_pages",
                &self
                    .inner
                    .memories
                    .iter()
                    .map(|m| m.pages)
                    .collect::<Vec<_>>(),
            )
            .field("globals", &self.inner.globals.len())
            .finish_non_exhaustive()
    }
}

/// Bytes compared at a time when looking for zero stretches: the OS page.
fn chunk() -> usize {
    crate::sys::mmap::page_size()
}

impl Snapshot {
    /// Records `instance`'s state. It should not be running meanwhile.
    pub fn capture(instance: &Instance) -> Result<Snapshot, Error> {
        let inner = &instance.inner;
        let module = &inner.module;
        let info = module.info();
        if let Some(imp) = info
            .imports
            .iter()
            .find(|i| !matches!(i.ty, EntityType::Func(_)))
        {
            return Err(Error::Usage(format!(
                "cannot snapshot an instance that imports {}.{} (only imported functions can be restored)",
                imp.module, imp.name
            )));
        }
        let mut memories = Vec::new();
        for m in &inner.memories[info.num_imported_memories as usize..] {
            let len = m.inner.len();
            let mut runs: Vec<(u64, &[u8])> = Vec::new();
            let base = m
                .inner
                .checked_ptr(0, len as u64)
                .map_err(|_| Error::Resource("memory changed size while being captured".into()))?;
            // SAFETY: `[base, base + len)` is the memory's accessible part,
            // which stays mapped while `instance` (borrowed) lives; the
            // caller does not run the instance meanwhile.
            let bytes = unsafe { std::slice::from_raw_parts(base, len) };
            let mut at = 0;
            while at < len {
                let end = (at + chunk()).min(len);
                if bytes[at..end].iter().any(|b| *b != 0) {
                    match runs.last_mut() {
                        Some((off, run)) if *off as usize + run.len() == at => {
                            *run = &bytes[*off as usize..end];
                        }
                        _ => runs.push((at as u64, &bytes[at..end])),
                    }
                }
                at = end;
            }
            let image = MemoryImage::new(len, runs)
                .map_err(|e| Error::Resource(format!("cannot make a memory image: {e}")))?;
            memories.push(MemoryState {
                pages: len as u64 / WASM_PAGE_SIZE,
                image: Arc::new(image),
            });
        }
        let tables = inner.tables[info.num_imported_tables as usize..]
            .iter()
            .map(|t| {
                let elem = t.inner.ty().elem;
                (0..t.inner.size())
                    .map(|i| snap_ref(inner, elem, t.inner.get(i).unwrap_or(0) as u128))
                    .collect()
            })
            .collect::<Result<_, _>>()?;
        let globals = inner.globals[info.num_imported_globals as usize..]
            .iter()
            .map(|g| {
                let ty = g.inner.ty().ty;
                let raw = g.inner.get_raw();
                match ty {
                    ValType::FuncRef | ValType::ExternRef => {
                        snap_ref(inner, ty, raw).map(SnapValue::Ref)
                    }
                    _ => Ok(SnapValue::Bits(raw)),
                }
            })
            .collect::<Result<_, _>>()?;
        let data_dropped = inner
            .data_dropped
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .collect();
        let elems_dropped = inner
            .elems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(Option::is_none)
            .collect();
        Ok(Snapshot {
            inner: Arc::new(SnapshotInner {
                module: module.clone(),
                memories,
                tables,
                globals,
                data_dropped,
                elems_dropped,
            }),
        })
    }

    /// The module this snapshot restores.
    pub fn module(&self) -> &Module {
        &self.inner.module
    }

    /// Size in pages of each defined memory.
    pub fn memory_pages(&self) -> Vec<u64> {
        self.inner.memories.iter().map(|m| m.pages).collect()
    }

    /// The snapshot as plain data (memory contents read back from the
    /// images; only non-zero pages).
    pub fn to_parts(&self) -> Result<SnapshotParts, Error> {
        let io = |e: std::io::Error| Error::Resource(format!("cannot read a memory image: {e}"));
        let mut memories = Vec::new();
        for m in &self.inner.memories {
            let mut runs: Vec<(u64, Vec<u8>)> = Vec::new();
            let mut page = vec![0u8; chunk()];
            let len = (m.pages * WASM_PAGE_SIZE) as usize;
            let mut at = 0;
            while at < len {
                let n = chunk().min(len - at);
                m.image.read_at(at as u64, &mut page[..n]).map_err(io)?;
                if page[..n].iter().any(|b| *b != 0) {
                    match runs.last_mut() {
                        Some((off, run)) if *off as usize + run.len() == at => {
                            run.extend_from_slice(&page[..n])
                        }
                        _ => runs.push((at as u64, page[..n].to_vec())),
                    }
                }
                at += n;
            }
            memories.push(MemoryParts {
                pages: m.pages,
                runs,
            });
        }
        Ok(SnapshotParts {
            memories,
            tables: self.inner.tables.clone(),
            globals: self.inner.globals.clone(),
            data_dropped: self.inner.data_dropped.clone(),
            elems_dropped: self.inner.elems_dropped.clone(),
        })
    }

    /// A snapshot of `module` from stored parts, checked against the
    /// module's definitions and the engine's memory cap (a mismatch is
    /// `Error::Usage` naming it).
    pub fn from_parts(module: &Module, parts: SnapshotParts) -> Result<Snapshot, Error> {
        let info = module.info();
        let bad = |what: String| {
            Err(Error::Usage(format!(
                "snapshot does not fit the module: {what}"
            )))
        };
        let defined_memories = &info.memories[info.num_imported_memories as usize..];
        if info
            .imports
            .iter()
            .any(|i| !matches!(i.ty, EntityType::Func(_)))
        {
            return bad("the module imports state other than functions".into());
        }
        if parts.memories.len() != defined_memories.len() {
            return bad(format!(
                "{} memories, the module defines {}",
                parts.memories.len(),
                defined_memories.len()
            ));
        }
        let cap = module.engine().config().max_memory_pages;
        let mut memories = Vec::new();
        for (i, (m, ty)) in parts.memories.iter().zip(defined_memories).enumerate() {
            let max = ty
                .max
                .unwrap_or(faasm_abi::MAX_MEMORY32_PAGES)
                .min(faasm_abi::MAX_MEMORY32_PAGES);
            if m.pages < ty.min || m.pages > max {
                return bad(format!(
                    "memory {i} has {} pages, its type allows {}..={max}",
                    m.pages, ty.min
                ));
            }
            if let Some(cap) = cap
                && m.pages > cap
            {
                return Err(Error::Resource(format!(
                    "snapshot memory {i} has {} pages, over the configured limit of {cap}",
                    m.pages
                )));
            }
            let len = (m.pages * WASM_PAGE_SIZE) as usize;
            let mut last_end = 0u64;
            for (off, run) in &m.runs {
                let end = off.checked_add(run.len() as u64);
                if *off < last_end || end.is_none_or(|e| e > len as u64) {
                    return bad(format!("memory {i} has a run outside or out of order"));
                }
                last_end = end.unwrap_or(u64::MAX);
            }
            let image = MemoryImage::new(len, m.runs.iter().map(|(o, r)| (*o, &r[..])))
                .map_err(|e| Error::Resource(format!("cannot make a memory image: {e}")))?;
            memories.push(MemoryState {
                pages: m.pages,
                image: Arc::new(image),
            });
        }
        let defined_tables = &info.tables[info.num_imported_tables as usize..];
        if parts.tables.len() != defined_tables.len() {
            return bad(format!(
                "{} tables, the module defines {}",
                parts.tables.len(),
                defined_tables.len()
            ));
        }
        let nfuncs = info.funcs.len() as u32;
        for (i, (elems, ty)) in parts.tables.iter().zip(defined_tables).enumerate() {
            let n = elems.len() as u64;
            if n < ty.min || ty.max.is_some_and(|m| n > m) || n > crate::table::MAX_TABLE_ELEMS {
                return bad(format!(
                    "table {i} has {n} elements, outside its type's limits"
                ));
            }
            let refs_ok = elems.iter().all(|r| match r {
                SnapRef::Null => true,
                SnapRef::Func(f) => ty.elem == ValType::FuncRef && *f < nfuncs,
            });
            if !refs_ok {
                return bad(format!("table {i} holds a reference it cannot"));
            }
        }
        let defined_globals = &info.globals[info.num_imported_globals as usize..];
        if parts.globals.len() != defined_globals.len() {
            return bad(format!(
                "{} globals, the module defines {}",
                parts.globals.len(),
                defined_globals.len()
            ));
        }
        for (i, (v, (ty, _))) in parts.globals.iter().zip(defined_globals).enumerate() {
            let ok = match (ty.ty, v) {
                (ValType::FuncRef, SnapValue::Ref(SnapRef::Func(f))) => *f < nfuncs,
                (ValType::FuncRef | ValType::ExternRef, SnapValue::Ref(SnapRef::Null)) => true,
                (ValType::I32, SnapValue::Bits(b)) => *b <= u32::MAX as u128,
                (ValType::F32, SnapValue::Bits(b)) => *b <= u32::MAX as u128,
                (ValType::I64 | ValType::F64, SnapValue::Bits(b)) => *b <= u64::MAX as u128,
                (ValType::V128, SnapValue::Bits(_)) => true,
                _ => false,
            };
            if !ok {
                return bad(format!(
                    "global {i} holds a value not of its type {}",
                    ty.ty
                ));
            }
        }
        if parts.data_dropped.len() != info.data.len()
            || parts.elems_dropped.len() != info.elems.len()
        {
            return bad("segment counts differ".into());
        }
        Ok(Snapshot {
            inner: Arc::new(SnapshotInner {
                module: module.clone(),
                memories,
                tables: parts.tables,
                globals: parts.globals,
                data_dropped: parts.data_dropped,
                elems_dropped: parts.elems_dropped,
            }),
        })
    }
}

/// The snapshot form of a reference word of `inner`.
fn snap_ref(inner: &InstanceInner, ty: ValType, raw: u128) -> Result<SnapRef, Error> {
    if raw == 0 {
        return Ok(SnapRef::Null);
    }
    if ty != ValType::FuncRef {
        return Err(Error::Usage(
            "cannot snapshot a host reference (externref)".into(),
        ));
    }
    let n = inner.module.info().funcs.len();
    if n > 0 {
        let first = inner.vmctx.funcref_ptr(0) as usize;
        let size = std::mem::size_of::<VMFuncRef>();
        let p = raw as usize;
        if p >= first && (p - first).is_multiple_of(size) && (p - first) / size < n {
            return Ok(SnapRef::Func(((p - first) / size) as u32));
        }
    }
    Err(Error::Usage(
        "cannot snapshot a reference to another instance's function".into(),
    ))
}

/// The reference word for `r` in `inner` (the restored instance).
pub(crate) fn raw_ref(inner_vmctx: &crate::vm::VMContext, r: SnapRef) -> u64 {
    match r {
        SnapRef::Null => 0,
        SnapRef::Func(i) => inner_vmctx.funcref_ptr(i) as u64,
    }
}

impl Instance {
    /// Returns this instance, which was restored from `snapshot`
    /// ([`crate::Linker::instantiate_snapshot`]), to the snapshot's state:
    /// memories drop every page written since (the image shows through
    /// again) and shrink back, tables, globals and dropped segments are
    /// put back. Afterwards nothing written since the restore is
    /// observable. Needs the only handle to the instance (no call can be
    /// running, no export handle alive); `Error::Usage` otherwise.
    pub fn reset(&mut self, snapshot: &Snapshot) -> Result<(), Error> {
        self.exclusive("reset")?;
        reset(&self.inner, snapshot)
    }
}

/// [`crate::Instance::reset`]: `inner` was restored from `snapshot` and
/// nothing runs on it.
fn reset(inner: &InstanceInner, snapshot: &Snapshot) -> Result<(), Error> {
    let s = &*snapshot.inner;
    if !inner.module.same(&s.module) {
        return Err(Error::Usage("snapshot of another module".into()));
    }
    let info = inner.module.info();
    let defined = |n: u32| n as usize;
    for (m, state) in inner.memories[defined(info.num_imported_memories)..]
        .iter()
        .zip(&s.memories)
    {
        m.inner.reset_to(state)?;
    }
    for (t, elems) in inner.tables[defined(info.num_imported_tables)..]
        .iter()
        .zip(&s.tables)
    {
        let raw: Vec<u64> = elems.iter().map(|r| raw_ref(&inner.vmctx, *r)).collect();
        if !t.inner.reset(&raw) {
            return Err(Error::Resource("cannot reset a table".into()));
        }
    }
    for (g, v) in inner.globals[defined(info.num_imported_globals)..]
        .iter()
        .zip(&s.globals)
    {
        g.inner.set_raw(match *v {
            SnapValue::Bits(b) => b,
            SnapValue::Ref(r) => raw_ref(&inner.vmctx, r) as u128,
        });
    }
    for (d, dropped) in inner.data_dropped.iter().zip(&s.data_dropped) {
        d.store(*dropped, Ordering::Relaxed);
    }
    let env = crate::consts::ConstEnv {
        globals: &inner.globals,
        vmctx: &inner.vmctx,
    };
    let mut elems = inner.elems.lock().unwrap_or_else(|e| e.into_inner());
    for (i, (seg, dropped)) in info.elems.iter().zip(&s.elems_dropped).enumerate() {
        elems[i] = match dropped {
            true => None,
            false => Some(
                seg.items
                    .iter()
                    .map(|e| crate::consts::eval(e, &env) as u64)
                    .collect(),
            ),
        };
    }
    Ok(())
}
