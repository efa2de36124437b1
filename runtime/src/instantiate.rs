//! Linking and instantiation: import resolution with type checks, context
//! set-up, then the spec's initialisation order (element segments, data
//! segments, start function).

use crate::consts::{ConstEnv, eval};
use crate::global::GlobalInner;
use crate::keepalive::KeepAlive;
use crate::memory::MemoryInner;
use crate::objects::FuncKind;
use crate::objects::InstanceInner;
use crate::snapshot::{SnapValue, Snapshot, raw_ref};
use crate::table::TableInner;
use crate::vm::builtins::BUILTINS;
use crate::vm::{VMContext, VMFuncRef};
use crate::{
    Error, Extern, Func, Global, Instance, LinkError, Linker, Memory, Module, Table, Trap,
};
use faasm_abi::{
    EntityType, Import, MemoryStrategy, MemoryType, ModuleInfo, SegmentMode, TableType, TrapKind,
    VMOffsets, ValType,
};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// What the imports resolved to.
#[derive(Default)]
struct Imports {
    funcs: Vec<Func>,
    memories: Vec<Memory>,
    tables: Vec<Table>,
    globals: Vec<Global>,
}

/// Makes an instance of `module`: initialised per the specification, or,
/// from `snapshot` (taken of an instance of the same module), in the
/// snapshot's state without running any segment or start function.
pub(crate) fn instantiate(
    linker: &Linker,
    module: &Module,
    opts: crate::InstanceOptions,
    snapshot: Option<&Snapshot>,
) -> Result<Instance, Error> {
    let info = module.info();
    let imports = resolve_imports(linker, module)?;
    let strategy = module.memory_strategy();
    let snap = snapshot.map(|s| &*s.inner);

    let mut memories = imports.memories;
    let cap = module.engine().config().max_memory_pages;
    // One budget for everything the instance defines (restored or not).
    let budget = cap.map(|pages| {
        Arc::new(crate::budget::Budget::new(
            pages.saturating_mul(faasm_abi::WASM_PAGE_SIZE),
        ))
    });
    for (i, ty) in info.memories[info.num_imported_memories as usize..]
        .iter()
        .enumerate()
    {
        let image = snap.map(|s| &s.memories[i]);
        memories.push(Memory {
            inner: Arc::new(MemoryInner::new_with(
                *ty,
                strategy,
                cap,
                image,
                budget.clone(),
            )?),
            owner: None,
        });
    }
    let mut tables = imports.tables;
    for (i, ty) in info.tables[info.num_imported_tables as usize..]
        .iter()
        .enumerate()
    {
        // A restored table starts at its snapshot size; its elements are
        // written once the context they point into exists.
        let ty = match snap {
            Some(s) => TableType {
                min: s.tables[i].len() as u64,
                ..*ty
            },
            None => *ty,
        };
        tables.push(Table {
            inner: Arc::new(TableInner::new_budgeted(ty, 0, budget.clone())?),
            owner: None,
        });
    }

    let vmctx = VMContext::new(VMOffsets::new(info));
    vmctx.set_builtins(BUILTINS.0.as_ptr().cast());
    vmctx.set_type_ids(module.type_ids().as_ptr());
    for (i, f) in imports.funcs.iter().enumerate() {
        let r = match &f.kind {
            FuncKind::Wasm { instance, index } => instance.vmctx.funcref(*index),
            FuncKind::Host(h) => VMFuncRef {
                code: module
                    .host_trampoline(info.funcs[i])
                    .expect("checked when the module was loaded"),
                vmctx: (&*h.ctx as *const crate::vm::HostFuncCtx).cast_mut().cast(),
                type_id: h.type_id,
            },
        };
        vmctx.set_funcref(i as u32, r);
    }
    for defined in 0..info.num_defined_funcs() {
        let index = info.num_imported_funcs + defined;
        vmctx.set_funcref(
            index,
            VMFuncRef {
                code: module.func_code(defined),
                vmctx: vmctx.as_ptr(),
                type_id: module.type_ids()[info.funcs[index as usize] as usize],
            },
        );
    }
    for (i, m) in memories.iter().enumerate() {
        vmctx.set_memory(i as u32, m.inner.def_ptr());
    }
    for (i, t) in tables.iter().enumerate() {
        vmctx.set_table(i as u32, t.inner.def_ptr());
    }

    // Globals in order: an initialiser may read any earlier global.
    let mut globals = imports.globals;
    for (i, (ty, init)) in info.globals[info.num_imported_globals as usize..]
        .iter()
        .enumerate()
    {
        let raw = match snap {
            Some(s) => match s.globals[i] {
                SnapValue::Bits(bits) => bits,
                SnapValue::Ref(r) => raw_ref(&vmctx, r) as u128,
            },
            None => {
                let init = init.as_ref().expect("defined globals have an initialiser");
                eval(
                    init,
                    &ConstEnv {
                        globals: &globals,
                        vmctx: &vmctx,
                    },
                )
            }
        };
        globals.push(Global {
            inner: Arc::new(GlobalInner::new(*ty, raw)),
            owner: None,
        });
    }
    for (i, g) in globals.iter().enumerate() {
        vmctx.set_global(i as u32, g.inner.storage());
    }

    let env = ConstEnv {
        globals: &globals,
        vmctx: &vmctx,
    };
    let elems = info
        .elems
        .iter()
        .enumerate()
        .map(|(i, seg)| match snap {
            Some(s) if s.elems_dropped[i] => None,
            _ => Some(seg.items.iter().map(|e| eval(e, &env) as u64).collect()),
        })
        .collect();
    let offsets: Vec<Option<u64>> = info
        .elems
        .iter()
        .map(|s| &s.mode)
        .chain(info.data.iter().map(|s| &s.mode))
        .map(|mode| match mode {
            SegmentMode::Active { offset, .. } => Some(eval(offset, &env) as u32 as u64),
            _ => None,
        })
        .collect();

    let peers = peers_of(&imports.funcs);
    let inner = Arc::new(InstanceInner {
        module: module.clone(),
        vmctx,
        imported_funcs: imports.funcs,
        memories,
        tables,
        globals,
        data_dropped: (0..info.data.len())
            .map(|i| AtomicBool::new(snap.is_some_and(|s| s.data_dropped[i])))
            .collect(),
        elems: Mutex::new(elems),
        keepalive: KeepAlive::default(),
        peers,
        data: std::cell::UnsafeCell::new(opts.data),
        interrupt: opts.interrupt.unwrap_or_default(),
        budget,
    });
    inner.vmctx.set_instance(Arc::as_ptr(&inner).cast());
    inner.interrupt.join(&inner);
    register_ownership(&inner, info);

    match snap {
        Some(s) => {
            let nt = info.num_imported_tables as usize;
            for (t, elems) in inner.tables[nt..].iter().zip(&s.tables) {
                for (j, r) in elems.iter().enumerate() {
                    t.inner.set(j as u64, raw_ref(&inner.vmctx, *r));
                }
            }
        }
        None => initialise(&inner, info, &offsets)?,
    }
    Ok(Instance { inner })
}

fn resolve_imports(linker: &Linker, module: &Module) -> Result<Imports, Error> {
    let info = module.info();
    let mut out = Imports::default();
    for imp in &info.imports {
        let item = linker
            .get(&imp.module, &imp.name)
            .ok_or_else(|| LinkError::Missing {
                module: imp.module.clone(),
                name: imp.name.clone(),
            })?;
        let mismatch = |found: String| LinkError::Incompatible {
            module: imp.module.clone(),
            name: imp.name.clone(),
            expected: describe_import(info, imp),
            found,
        };
        match (&imp.ty, item) {
            (EntityType::Func(t), Extern::Func(f)) => {
                let have = f.ty();
                if have != info.types[*t as usize] {
                    return Err(mismatch(have.to_string()).into());
                }
                out.funcs.push(f.clone());
            }
            (EntityType::Memory(want), Extern::Memory(m)) => {
                let have = m.ty();
                if !memory_matches(want, &have)
                    || !strategy_fits(module.memory_strategy(), m.strategy())
                {
                    return Err(mismatch(describe_memory(&have, m.strategy())).into());
                }
                out.memories.push(m.clone());
            }
            (EntityType::Table(want), Extern::Table(t)) => {
                let have = t.ty();
                if !table_matches(want, &have) {
                    return Err(mismatch(describe_table(&have)).into());
                }
                out.tables.push(t.clone());
            }
            (EntityType::Global(want), Extern::Global(g)) => {
                if g.ty() != *want {
                    return Err(mismatch(describe_extern(item)).into());
                }
                out.globals.push(g.clone());
            }
            (_, other) => return Err(mismatch(describe_extern(other)).into()),
        }
    }
    Ok(out)
}

fn limits_match(
    want_min: u64,
    want_max: Option<u64>,
    have_min: u64,
    have_max: Option<u64>,
) -> bool {
    have_min >= want_min
        && match want_max {
            None => true,
            Some(w) => have_max.is_some_and(|h| h <= w),
        }
}

fn memory_matches(want: &MemoryType, have: &MemoryType) -> bool {
    want.shared == have.shared
        && want.memory64 == have.memory64
        && limits_match(want.min, want.max, have.min, have.max)
}

fn table_matches(want: &TableType, have: &TableType) -> bool {
    want.elem == have.elem && limits_match(want.min, want.max, have.min, have.max)
}

/// Code compiled for guard pages elides checks, so the memory must have at
/// least that much guard; code with explicit checks works with any memory.
fn strategy_fits(code: MemoryStrategy, memory: MemoryStrategy) -> bool {
    match (code, memory) {
        (MemoryStrategy::Explicit, _) => true,
        (
            MemoryStrategy::Guarded { guard_bytes: need },
            MemoryStrategy::Guarded { guard_bytes: have },
        ) => have >= need,
        (MemoryStrategy::Guarded { .. }, MemoryStrategy::Explicit) => false,
    }
}

fn describe_limits(min: u64, max: Option<u64>) -> String {
    match max {
        Some(m) => format!("{min} {m}"),
        None => format!("{min}"),
    }
}

fn describe_memory(m: &MemoryType, strategy: MemoryStrategy) -> String {
    let shared = if m.shared { " shared" } else { "" };
    let sfi = match strategy {
        MemoryStrategy::Guarded { guard_bytes } => format!("guarded, {guard_bytes} guard bytes"),
        MemoryStrategy::Explicit => "explicitly checked".to_string(),
    };
    format!("(memory {}{shared}) [{sfi}]", describe_limits(m.min, m.max))
}

fn describe_table(t: &TableType) -> String {
    format!("(table {} {})", describe_limits(t.min, t.max), t.elem)
}

fn describe_global(ty: ValType, mutable: bool) -> String {
    if mutable {
        format!("(global (mut {ty}))")
    } else {
        format!("(global {ty})")
    }
}

fn describe_import(info: &ModuleInfo, imp: &Import) -> String {
    match &imp.ty {
        EntityType::Func(t) => info.types[*t as usize].to_string(),
        EntityType::Memory(m) => format!(
            "(memory {}{})",
            describe_limits(m.min, m.max),
            if m.shared { " shared" } else { "" }
        ),
        EntityType::Table(t) => describe_table(t),
        EntityType::Global(g) => describe_global(g.ty, g.mutable),
    }
}

fn describe_extern(e: &Extern) -> String {
    match e {
        Extern::Func(f) => f.ty().to_string(),
        Extern::Memory(m) => describe_memory(&m.ty(), m.strategy()),
        Extern::Table(t) => describe_table(&t.ty()),
        Extern::Global(g) => describe_global(g.ty().ty, g.ty().mutable),
    }
}

/// Contexts of the instances whose functions we import, transitively.
fn peers_of(funcs: &[Func]) -> Vec<*const VMContext> {
    let mut peers: Vec<*const VMContext> = Vec::new();
    for f in funcs {
        if let FuncKind::Wasm { instance, .. } = &f.kind {
            for p in std::iter::once(&instance.vmctx as *const VMContext)
                .chain(instance.peers.iter().copied())
            {
                if !peers.contains(&p) {
                    peers.push(p);
                }
            }
        }
    }
    peers
}

/// Who keeps whom alive: our own tables and globals need not hold us; an
/// imported funcref table or mutable funcref global may receive references
/// to our functions (from segments or compiled code), so it holds us.
fn register_ownership(inner: &Arc<InstanceInner>, info: &ModuleInfo) {
    let me = Arc::as_ptr(inner).cast::<()>();
    inner.keepalive.set_owner(me);
    let (nt, ng) = (
        info.num_imported_tables as usize,
        info.num_imported_globals as usize,
    );
    for t in &inner.tables[nt..] {
        t.inner.keepalive.set_owner(me);
    }
    for g in &inner.globals[ng..] {
        g.inner.keepalive.set_owner(me);
    }
    for t in &inner.tables[..nt] {
        if t.inner.ty().elem == ValType::FuncRef {
            t.inner.keepalive.hold(inner.clone());
        }
    }
    for g in &inner.globals[..ng] {
        let ty = g.inner.ty();
        if ty.ty == ValType::FuncRef && ty.mutable {
            g.inner.keepalive.hold(inner.clone());
        }
    }
    // Imported wasm functions are held through `imported_funcs` already.
}

/// Element segments, then data segments, then the start function. A
/// failing segment traps; what earlier segments wrote stays.
fn initialise(
    inner: &Arc<InstanceInner>,
    info: &ModuleInfo,
    offsets: &[Option<u64>],
) -> Result<(), Error> {
    for (i, seg) in info.elems.iter().enumerate() {
        if let SegmentMode::Active { index, .. } = &seg.mode {
            let dst = offsets[i].expect("active segments have an offset");
            let items = inner.elems.lock().unwrap_or_else(|e| e.into_inner())[i]
                .clone()
                .unwrap_or_default();
            let table = &inner.tables[*index as usize].inner;
            if !table.init(dst, &items, 0, items.len() as u64) {
                return Err(Trap::new(TrapKind::TableOutOfBounds).into());
            }
        }
        if !matches!(seg.mode, SegmentMode::Passive) {
            inner.drop_elem(i as u32);
        }
    }
    let ne = info.elems.len();
    for (i, seg) in info.data.iter().enumerate() {
        if let SegmentMode::Active { index, .. } = &seg.mode {
            let dst = offsets[ne + i].expect("active segments have an offset");
            if inner.memories[*index as usize]
                .write(dst, &seg.bytes)
                .is_err()
            {
                return Err(Trap::new(TrapKind::MemoryOutOfBounds).into());
            }
            inner.drop_data(i as u32);
        }
    }
    if let Some(start) = info.start {
        inner.func(start).call(&[])?;
    }
    Ok(())
}
