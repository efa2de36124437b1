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
    /// `pc`'s offset in the text, if it is at or past its start.
    fn text_offset(&self, pc: usize) -> Option<u32> {
        u32::try_from(pc.checked_sub(self.code.base() as usize)?).ok()
    }

    /// Wasm function index of the defined function containing `pc`.
    pub fn func_index_at(&self, pc: usize) -> Option<u32> {
        let defined = self.artifact.defined_func_at(self.text_offset(pc)?)?;
        Some(self.artifact.info.num_imported_funcs + defined)
    }

    /// Wasm function index of the function inlined at `pc`, if any.
    pub fn inlined_at(&self, pc: usize) -> Option<u32> {
        self.artifact.inlined_at(self.text_offset(pc)?)
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
/// Takes the read lock without blocking, trying up to `spins` times (a
/// writer only ever holds it for a short insert/remove on another thread,
/// so spinning ends quickly); it allocates nothing and clones nothing.
pub(crate) fn classify_pc(pc: usize, spins: u32) -> Option<Option<TrapKind>> {
    for _ in 0..spins {
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

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use super::*;
    use crate::{Engine, Module};

    /// A division (traps on zero and on overflow), an `unreachable` and
    /// a load (traps out of bounds), in two functions.
    const SRC: &str = r#"(module
      (memory 1)
      (func $div (export "div") (param i32 i32) (result i32)
        (i32.div_s (local.get 0) (local.get 1)))
      (func $load (export "load") (param i32) (result i32)
        (if (i32.eqz (local.get 0)) (then unreachable))
        (i32.load (local.get 0))))"#;

    #[test]
    fn each_recorded_trap_site_decodes_to_its_kind_and_function() {
        let module = Module::new(&Engine::default(), &faasm_testutil::wat(SRC)).unwrap();
        let code = module.code();
        let base = code.code.base() as usize;
        let traps = &code.artifact.traps;
        assert!(!traps.is_empty());
        for site in traps {
            let pc = base + site.offset as usize;
            assert_eq!(classify_pc(pc, 1_000), Some(Some(site.kind)), "{site:?}");
            let found = lookup(pc).expect("registered");
            assert!(std::ptr::eq(&*found, code));
            assert!(found.func_index_at(pc).is_some_and(|f| f < 2));
        }
        let kinds: Vec<TrapKind> = traps.iter().map(|t| t.kind).collect();
        for kind in [
            TrapKind::IntegerDivisionByZero,
            TrapKind::IntegerOverflow,
            TrapKind::Unreachable,
        ] {
            assert!(kinds.contains(&kind), "no {kind:?} site in {kinds:?}");
        }
        // In the code but not a trap site: ours, with no kind.
        let plain = (0..code.code.len() as u32)
            .find(|off| traps.iter().all(|t| t.offset != *off))
            .unwrap();
        assert_eq!(classify_pc(base + plain as usize, 1_000), Some(None));
        // Outside every module (the first page is never mapped): not ours.
        assert_eq!(classify_pc(16, 1_000), None);
        assert!(lookup(16).is_none());
    }
}
