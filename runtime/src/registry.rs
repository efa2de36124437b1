//! Process-wide registry of loaded code, consulted by the signal handler to
//! tell compiled wasm from everything else and to find the trap kind of a
//! faulting instruction, and by trap reporting to name the function.

use crate::sys::code::CodeMemory;
use faasm_abi::{Artifact, TrapKind};
use std::sync::{Arc, RwLock, TryLockError};

/// A module's mapped text together with the artifact describing it.
#[derive(Debug)]
pub(crate) struct ModuleCode {
    pub code: CodeMemory,
    pub artifact: Artifact,
}

impl ModuleCode {
    /// Wasm function index of the defined function containing `pc`.
    pub fn func_index_at(&self, pc: usize) -> Option<u32> {
        let off = u32::try_from(pc.checked_sub(self.code.base() as usize)?).ok()?;
        let defined = self.artifact.defined_func_at(off)?;
        Some(self.artifact.info.num_imported_funcs + defined)
    }
}

struct Entry {
    start: usize,
    end: usize,
    code: Arc<ModuleCode>,
}

/// Sorted by `start`; ranges never overlap (they are distinct mappings).
static CODE: RwLock<Vec<Entry>> = RwLock::new(Vec::new());

/// Keeps `code` registered while alive.
#[derive(Debug)]
pub(crate) struct Registration {
    start: usize,
}

pub(crate) fn register(code: Arc<ModuleCode>) -> Option<Registration> {
    let (start, end) = code.code.range();
    if start == end {
        return None;
    }
    let mut all = CODE.write().unwrap_or_else(|e| e.into_inner());
    let at = all.partition_point(|e| e.start < start);
    all.insert(at, Entry { start, end, code });
    Some(Registration { start })
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut all = CODE.write().unwrap_or_else(|e| e.into_inner());
        if let Ok(i) = all.binary_search_by_key(&self.start, |e| e.start) {
            all.remove(i);
        }
    }
}

fn find(all: &[Entry], pc: usize) -> Option<&Entry> {
    let i = all.partition_point(|e| e.start <= pc).checked_sub(1)?;
    let e = &all[i];
    (pc < e.end).then_some(e)
}

/// The module whose code contains `pc`.
pub(crate) fn lookup(pc: usize) -> Option<Arc<ModuleCode>> {
    let all = CODE.read().unwrap_or_else(|e| e.into_inner());
    find(&all, pc).map(|e| e.code.clone())
}

/// For the signal handler: `None` if `pc` is not in any loaded module,
/// otherwise the trap kind recorded for exactly that instruction, if any.
///
/// Takes the read lock without blocking (a writer only ever holds it for a
/// short insert/remove on another thread, so spinning ends quickly); it
/// allocates nothing and clones nothing.
pub(crate) fn classify_pc(pc: usize) -> Option<Option<TrapKind>> {
    for _ in 0..10_000_000 {
        let all = match CODE.try_read() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        };
        if let Some(all) = all {
            let e = find(&all, pc)?;
            let off = (pc - e.start) as u32;
            return Some(e.code.artifact.trap_at(off));
        }
        std::hint::spin_loop();
    }
    // The lock never became free (e.g. the fault interrupted a writer on
    // this very thread): not something we can attribute to wasm.
    None
}
