use crate::{Engine, Error};
use faasm_abi::{FuncType, GlobalType, MemoryType, ModuleInfo, TableType};
use std::path::Path;
use std::sync::Arc;

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    Func(FuncType),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

/// A compiled, loaded module: its code is mapped executable and shared by
/// every instance. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

struct ModuleInner {}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").finish_non_exhaustive()
    }
}

impl Module {
    /// Compiles WebAssembly bytes (binary format) in-process.
    pub fn new(engine: &Engine, wasm: &[u8]) -> Result<Module, Error> {
        let _ = (engine, wasm, &Module::inner);
        todo!()
    }

    /// Loads an artifact written by `faasmc` / [`Module::serialize`],
    /// checking magic, checksum, compiler version and target.
    pub fn from_artifact(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        let _ = (engine, bytes);
        todo!()
    }

    /// Loads a `.wasm` (compiling it) or an artifact, told apart by magic.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module, Error> {
        let _ = (engine, path.as_ref());
        todo!()
    }

    /// The artifact bytes of this module.
    pub fn serialize(&self) -> Vec<u8> {
        todo!()
    }

    pub fn info(&self) -> &ModuleInfo {
        todo!()
    }

    /// `(module, name, type)` of every import, in order.
    pub fn imports(&self) -> Vec<(String, String, ExternType)> {
        todo!()
    }

    pub fn exports(&self) -> Vec<(String, ExternType)> {
        todo!()
    }

    fn inner(&self) -> &ModuleInner {
        &self.inner
    }
}
