//! Loaded code: a [`Module`] is a checked artifact mapped executable and
//! registered for trap lookup, with its imports, exports and types.

use crate::profiling::{self, ProfilingStrategy};
use crate::registry::{self, ModuleCode, Registration};
use crate::sys::code::CodeMemory;
use crate::types::canonical_id;
use crate::{Engine, Error};
use faasm_abi::{
    Artifact, ArtifactError, EntityType, ExportKind, FuncType, GlobalType, MemoryStrategy,
    MemoryType, ModuleInfo, TableType, TypeIndex,
};
use std::path::Path;
use std::sync::Arc;

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function of this signature.
    Func(FuncType),
    /// A table of this element type and limits.
    Table(TableType),
    /// A linear memory of these limits.
    Memory(MemoryType),
    /// A global of this value type and mutability.
    Global(GlobalType),
}

/// A compiled, loaded module: its code is mapped executable and shared by
/// every instance. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

struct ModuleInner {
    engine: Engine,
    code: Arc<ModuleCode>,
    /// Canonical signature id per module type (vmctx `type_ids` points here).
    type_ids: Box<[u32]>,
    /// Text offset of the entry / host trampoline per module type.
    entry_trampolines: Vec<Option<u32>>,
    host_trampolines: Vec<Option<u32>>,
    _registration: Option<Registration>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("funcs", &self.info().funcs.len())
            .field("text_bytes", &self.inner.code.code.len())
            .finish_non_exhaustive()
    }
}

const WASM_MAGIC: &[u8; 4] = b"\0asm";

impl Module {
    /// Compiles WebAssembly bytes (binary format) in-process.
    pub fn new(engine: &Engine, wasm: &[u8]) -> Result<Module, Error> {
        Module::compile(engine, wasm, None)
    }

    /// As [`Module::new`], naming the module `name` for profilers (see
    /// [`crate::Config::profiling`]); the name section's module name, if
    /// any, is the default.
    pub fn new_named(engine: &Engine, wasm: &[u8], name: &str) -> Result<Module, Error> {
        Module::compile(engine, wasm, Some(name))
    }

    #[cfg(feature = "compiler")]
    fn compile(engine: &Engine, wasm: &[u8], name: Option<&str>) -> Result<Module, Error> {
        let artifact = faasm_compiler::compile(wasm, &engine.config().compile_config())?;
        Module::load(engine, artifact, name)
    }

    /// Without the compiler, WebAssembly bytes are an error
    /// ([`Error::NoCompiler`]).
    #[cfg(not(feature = "compiler"))]
    fn compile(_engine: &Engine, _wasm: &[u8], _name: Option<&str>) -> Result<Module, Error> {
        Err(Error::NoCompiler)
    }

    /// Loads an artifact written by `faasmc` / [`Module::serialize`],
    /// checking magic, its tag under the engine's
    /// [`crate::Config::artifact_key`], compiler version and target.
    pub fn from_artifact(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        Module::artifact_named(engine, bytes, None)
    }

    /// As [`Module::from_artifact`], naming the module `name` for
    /// profilers (see [`crate::Config::profiling`]).
    pub fn from_artifact_named(engine: &Engine, bytes: &[u8], name: &str) -> Result<Module, Error> {
        Module::artifact_named(engine, bytes, Some(name))
    }

    fn artifact_named(engine: &Engine, bytes: &[u8], name: Option<&str>) -> Result<Module, Error> {
        let artifact = Artifact::deserialize(bytes, &engine.config().artifact_key)?;
        artifact.check_runs_here()?;
        Module::load(engine, artifact, name)
    }

    /// Loads a binary `.wasm` (compiling it), or an artifact. An artifact
    /// is native code, so loading one is an explicit choice: only a file
    /// named `*.faasm` is taken as one (and its tag must check out). The
    /// module is named for profilers by the file's stem.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)?;
        let stem = path.file_stem().map(|s| s.to_string_lossy());
        let name = stem.as_deref();
        if bytes.starts_with(WASM_MAGIC) {
            return Module::compile(engine, &bytes, name);
        }
        if path.extension().is_some_and(|e| e == "faasm") {
            return Module::artifact_named(engine, &bytes, name);
        }
        Err(match bytes.starts_with(faasm_abi::ARTIFACT_MAGIC) {
            true => ArtifactError::NotNamedAsArtifact.into(),
            false => ArtifactError::BadMagic.into(),
        })
    }

    /// Maps an artifact's code and registers it for trap handling.
    pub fn from_compiled(engine: &Engine, artifact: Artifact) -> Result<Module, Error> {
        Module::load(engine, artifact, None)
    }

    /// `name`: what profilers call the module, if the embedder knows.
    fn load(engine: &Engine, artifact: Artifact, name: Option<&str>) -> Result<Module, Error> {
        let info = &artifact.info;
        let ntypes = info.types.len();
        let per_type = |list: &[(TypeIndex, u32)]| {
            let mut v = vec![None; ntypes];
            for (t, off) in list {
                if let Some(slot) = v.get_mut(*t as usize) {
                    *slot = Some(*off);
                }
            }
            v
        };
        let entry_trampolines = per_type(&artifact.entry_trampolines);
        let host_trampolines = per_type(&artifact.host_trampolines);
        check_complete(&artifact, &entry_trampolines, &host_trampolines)?;
        let type_ids = info.types.iter().map(canonical_id).collect();
        let code = CodeMemory::new(&artifact.text)
            .map_err(|e| Error::Resource(format!("cannot map code: {e}")))?;
        let code = Arc::new(ModuleCode { code, artifact });
        if engine.config().profiling == ProfilingStrategy::PerfMap {
            profiling::write_perf_map(&code, name).map_err(|e| {
                let path = profiling::perf_map_path(std::process::id());
                let message = format!("cannot write the perf map {}: {e}", path.display());
                Error::Io(std::io::Error::new(e.kind(), message))
            })?;
        }
        let registration = registry::register(code.clone());
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                code,
                type_ids,
                entry_trampolines,
                host_trampolines,
                _registration: registration,
            }),
        })
    }

    /// The artifact bytes of this module, tagged with the engine's key.
    pub fn serialize(&self) -> Vec<u8> {
        self.inner
            .code
            .artifact
            .serialize(&self.inner.engine.config().artifact_key)
    }

    /// What the compiler recorded about the module: types, imports,
    /// exports, functions, memories, tables, globals and segments.
    pub fn info(&self) -> &ModuleInfo {
        &self.inner.code.artifact.info
    }

    /// The engine the module was compiled or loaded for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The SFI scheme the code was compiled for.
    pub fn memory_strategy(&self) -> MemoryStrategy {
        self.inner.code.artifact.memory_strategy
    }

    /// `(module, name, type)` of every import, in order.
    pub fn imports(&self) -> Vec<(String, String, ExternType)> {
        let info = self.info();
        info.imports
            .iter()
            .map(|i| {
                let ty = match &i.ty {
                    EntityType::Func(t) => ExternType::Func(info.types[*t as usize].clone()),
                    EntityType::Table(t) => ExternType::Table(*t),
                    EntityType::Memory(m) => ExternType::Memory(*m),
                    EntityType::Global(g) => ExternType::Global(*g),
                };
                (i.module.clone(), i.name.clone(), ty)
            })
            .collect()
    }

    /// `(name, type)` of every export, in order.
    pub fn exports(&self) -> Vec<(String, ExternType)> {
        let info = self.info();
        info.exports
            .iter()
            .map(|e| {
                let i = e.index as usize;
                let ty = match e.kind {
                    ExportKind::Func => ExternType::Func(info.func_type(e.index).clone()),
                    ExportKind::Table => ExternType::Table(info.tables[i]),
                    ExportKind::Memory => ExternType::Memory(info.memories[i]),
                    ExportKind::Global => ExternType::Global(info.globals[i].0),
                };
                (e.name.clone(), ty)
            })
            .collect()
    }

    pub(crate) fn artifact(&self) -> &Artifact {
        &self.inner.code.artifact
    }

    pub(crate) fn type_ids(&self) -> &[u32] {
        &self.inner.type_ids
    }

    /// Address of defined function `defined_index`'s code.
    pub(crate) fn func_code(&self, defined_index: u32) -> *const u8 {
        let f = self.artifact().funcs[defined_index as usize];
        self.inner.code.code.at(f.offset)
    }

    pub(crate) fn entry_trampoline(&self, ty: TypeIndex) -> *const u8 {
        let off = self.inner.entry_trampolines[ty as usize].expect("checked at load");
        self.inner.code.code.at(off)
    }

    /// The host trampoline for `ty`; exists for the type of every imported
    /// function (checked at load).
    pub(crate) fn host_trampoline(&self, ty: TypeIndex) -> Option<*const u8> {
        let off = self
            .inner
            .host_trampolines
            .get(ty as usize)
            .copied()
            .flatten()?;
        Some(self.inner.code.code.at(off))
    }

    pub(crate) fn code(&self) -> &ModuleCode {
        &self.inner.code
    }

    /// Whether two handles denote the same entity.
    pub fn same(&self, other: &Module) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// The runtime relies on these trampolines existing; refuse an artifact
/// without them rather than fail later.
fn check_complete(
    artifact: &Artifact,
    entry: &[Option<u32>],
    host: &[Option<u32>],
) -> Result<(), ArtifactError> {
    let info = &artifact.info;
    if let Some(t) = entry.iter().position(Option::is_none) {
        return Err(ArtifactError::Decode(format!(
            "no entry trampoline for type {t}"
        )));
    }
    for f in 0..info.num_imported_funcs {
        let t = info.funcs[f as usize];
        if host.get(t as usize).copied().flatten().is_none() {
            return Err(ArtifactError::Decode(format!(
                "no host trampoline for type {t}"
            )));
        }
    }
    if info.funcs.iter().any(|t| *t as usize >= info.types.len()) {
        return Err(ArtifactError::Decode(
            "function type index out of range".into(),
        ));
    }
    Ok(())
}
