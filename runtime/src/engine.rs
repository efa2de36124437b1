//! The [`Engine`] and its [`Config`]: memory strategy, interrupts, stack
//! and memory caps, accepted proposals, the artifact key, profiling and,
//! with the `compiler` feature, how modules are compiled in-process.

use crate::profiling::ProfilingStrategy;
use faasm_abi::{ArtifactKey, DEFAULT_COMPILE_TIME_LIMIT, MemoryStrategy};
use std::sync::{Arc, OnceLock};

/// Settings shared by everything an [`Engine`] compiles and runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// SFI scheme for modules compiled by this engine (artifacts carry
    /// their own and are honoured).
    pub memory_strategy: MemoryStrategy,
    /// Also poll the interrupt word in compiled loops (see
    /// `faasm_compiler::CompileConfig::poll_interrupts`); timeouts work
    /// without it.
    pub poll_interrupts: bool,
    /// Bytes of native stack wasm may use below the point where the host
    /// called in; deeper recursion traps with `StackOverflow`.
    pub max_wasm_stack: usize,
    /// Compile functions in parallel.
    pub parallel_compilation: bool,
    /// Copy small wasm functions into their direct callers (see
    /// `faasm_compiler::CompileConfig::inline`); off only to measure it.
    pub inline: bool,
    /// WebAssembly proposals accepted beyond 2.0.
    pub features: faasm_abi::Features,
    /// A cap, in 64 KiB pages, on every linear memory a module defines
    /// (applied at instantiation and by `memory.grow`, on top of the
    /// module's own maximum), so an embedder can bound a guest's memory.
    /// `None`: only the module's maximum (and 4 GiB) apply.
    pub max_memory_pages: Option<u64>,
    /// The key artifacts must be tagged with to load
    /// ([`crate::Module::from_artifact`]) and are tagged with when
    /// serialized. By default a key made for this process, so only
    /// artifacts serialized in-process load; embedders that load files use
    /// the installation's ([`ArtifactKey::installation`]).
    pub artifact_key: ArtifactKey,
    /// No function of a module starts compiling after this long (the
    /// compiler's `CompileConfig::time_limit`); `None`: no limit.
    pub compile_time_limit: Option<std::time::Duration>,
    /// Whether loaded code is described for profilers (a perf map);
    /// changes no code.
    pub profiling: ProfilingStrategy,
}

/// One random key per process: the default [`Config::artifact_key`].
fn process_key() -> ArtifactKey {
    static KEY: OnceLock<ArtifactKey> = OnceLock::new();
    KEY.get_or_init(|| {
        ArtifactKey::random().expect("the operating system's random source (/dev/urandom)")
    })
    .clone()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            memory_strategy: MemoryStrategy::default(),
            poll_interrupts: false,
            max_wasm_stack: 1 << 20,
            parallel_compilation: true,
            inline: true,
            features: faasm_abi::Features::default(),
            max_memory_pages: None,
            artifact_key: process_key(),
            compile_time_limit: Some(DEFAULT_COMPILE_TIME_LIMIT),
            profiling: ProfilingStrategy::None,
        }
    }
}

/// Compiles and loads modules. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    config: Arc<Config>,
}

impl Engine {
    /// An engine with this configuration; it cannot change afterwards (every
    /// module and instance of the engine relies on it).
    pub fn new(config: Config) -> Engine {
        Engine {
            config: Arc::new(config),
        }
    }

    /// The configuration the engine was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

#[cfg(feature = "compiler")]
impl Config {
    /// How [`crate::Module::new`] compiles under this configuration.
    pub fn compile_config(&self) -> faasm_compiler::CompileConfig {
        faasm_compiler::CompileConfig {
            memory_strategy: self.memory_strategy,
            poll_interrupts: self.poll_interrupts,
            parallel: self.parallel_compilation,
            inline: self.inline,
            features: self.features,
            time_limit: self.compile_time_limit,
            ..Default::default()
        }
    }
}
