//! faasmc: validates a WebAssembly module with `wasmparser`, translates every
//! function to Cranelift IR with our own translator, and emits a
//! position-independent [`Artifact`] for the runtime.

mod driver;
mod error;
mod isa;
mod link;
mod module_env;
mod signature;
mod trampolines;
mod translate;
mod traps;

pub use driver::{Timings, compile, compile_with_timings};
pub use error::CompileError;
pub use faasm_abi::{Artifact, DEFAULT_COMPILE_TIME_LIMIT, Features, MemoryStrategy};
pub use isa::host_target;

/// What to compile for. The runtime must allocate memories the way the code
/// expects, so the strategy is recorded in the artifact.
#[derive(Debug, Clone)]
pub struct CompileConfig {
    pub memory_strategy: MemoryStrategy,
    /// Check the interrupt flag at every loop header so that a runaway
    /// function can be stopped from another thread.
    pub interruptible: bool,
    /// Compile functions on the rayon pool.
    pub parallel: bool,
    /// Cranelift `opt_level`: "none", "speed" or "speed_and_size".
    pub opt_level: &'static str,
    /// Proposals accepted beyond WebAssembly 2.0.
    pub features: Features,
    /// Compilation past this fails with [`CompileError::TimeLimit`]: no
    /// function starts compiling after it, so a crafted module costs at
    /// most this plus its slowest function (per worker thread). `None`:
    /// no limit.
    pub time_limit: Option<std::time::Duration>,
}

impl Default for CompileConfig {
    fn default() -> Self {
        CompileConfig {
            memory_strategy: MemoryStrategy::default(),
            interruptible: true,
            parallel: true,
            opt_level: "speed",
            features: Features::default(),
            time_limit: Some(DEFAULT_COMPILE_TIME_LIMIT),
        }
    }
}

/// The version string written into artifacts; the runtime only loads
/// artifacts whose version equals its own ([`faasm_abi::target`]).
pub fn version() -> String {
    faasm_abi::target::compiler_version()
}
