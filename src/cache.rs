//! The compile cache of `faasm-run FILE`: a module compiled once is kept as
//! an artifact under `$FAASM_HOME/cache/compiled/` (default
//! `~/.faasm/cache/compiled/`), named by a hash of the module's bytes, the
//! compiler's version, the host's target and the engine settings that
//! shape the code, so the next run of the same file loads native code
//! instead of compiling.
//!
//! An entry is trusted no more than any artifact: it loads only if its tag
//! checks out under the installation's key (so a corrupted or planted file
//! is refused) and it was made by this compiler for this CPU. Whatever
//! fails to load is compiled again and the entry replaced; a cache that
//! cannot be written only costs the next run a compile.

use faasm_runtime::{Engine, Error, Module};
use std::path::{Path, PathBuf};

/// What happened to the cache for one load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the cache: nothing compiled.
    Hit,
    /// Not in the cache: compiled, and the entry written.
    Miss,
    /// An entry was there but did not load (corrupted, tampered with, or
    /// from another compiler or CPU): compiled again and replaced.
    Replaced(String),
}

/// A directory of cached artifacts.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// The cache of the installation rooted at `home`.
    pub fn new(home: &Path) -> CompileCache {
        CompileCache {
            dir: home.join("cache").join("compiled"),
        }
    }

    /// The installation's cache (`$FAASM_HOME`, else `~/.faasm`), if either
    /// is set.
    pub fn installation() -> Option<CompileCache> {
        faasm_abi::key::faasm_home().map(|h| CompileCache::new(&h))
    }

    /// Where `wasm` compiled by `engine` is kept.
    pub fn entry(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        // Everything that changes the compiled code names a different
        // entry. The engine's settings are taken whole (their Debug text;
        // the artifact key prints redacted, and a different key shows up
        // as an entry that fails its tag instead).
        // Profiling changes no code: a profiled run shares the entry.
        let config = faasm_runtime::Config {
            profiling: faasm_runtime::ProfilingStrategy::None,
            ..engine.config().clone()
        };
        let mut material = Vec::with_capacity(wasm.len() + 256);
        for part in [
            faasm_abi::target::compiler_version(),
            faasm_abi::target::host_triple(),
            format!("{config:?}"),
        ] {
            let part = part.as_bytes();
            material.extend_from_slice(&(part.len() as u64).to_le_bytes());
            material.extend_from_slice(part);
        }
        material.extend_from_slice(wasm);
        let hash = faasm_snapshot::fingerprint(&material);
        let name: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.faasm"))
    }

    /// `wasm` as a module: from the cache if a good entry is there, else
    /// compiled (and the entry written, best effort). `engine` must tag
    /// artifacts with the installation's key for entries to survive the
    /// process. `name` names the module for profilers (the file's stem,
    /// say; see [`faasm_runtime::Config::profiling`]).
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        name: Option<&str>,
    ) -> Result<(Module, CacheOutcome), Error> {
        let path = self.entry(engine, wasm);
        let from_artifact = |bytes: &[u8]| match name {
            Some(name) => Module::from_artifact_named(engine, bytes, name),
            None => Module::from_artifact(engine, bytes),
        };
        let outcome = match std::fs::read(&path) {
            Ok(bytes) => match from_artifact(&bytes) {
                Ok(module) => return Ok((module, CacheOutcome::Hit)),
                Err(e) => CacheOutcome::Replaced(e.to_string()),
            },
            Err(_) => CacheOutcome::Miss,
        };
        let module = match name {
            Some(name) => Module::new_named(engine, wasm, name)?,
            None => Module::new(engine, wasm)?,
        };
        // Best effort: a read-only home still runs the module.
        let _ = write_atomic(&path, &module.serialize());
        Ok((module, outcome))
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a
/// reader never sees a half-written entry.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasm_runtime::{Config, ProfilingStrategy};

    #[test]
    fn profiling_shares_the_entry_and_code_settings_do_not() {
        let cache = CompileCache::new(Path::new("/nonexistent"));
        let wasm = b"\0asm\x01\0\0\0";
        let plain = cache.entry(&Engine::default(), wasm);
        let profiled = Engine::new(Config {
            profiling: ProfilingStrategy::PerfMap,
            ..Config::default()
        });
        assert_eq!(cache.entry(&profiled, wasm), plain);
        let polling = Engine::new(Config {
            poll_interrupts: true,
            ..Config::default()
        });
        assert_ne!(cache.entry(&polling, wasm), plain);
    }
}
