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
pub use faasm_abi::{Artifact, MemoryStrategy};
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

/// The default [`CompileConfig::time_limit`]: far above what real modules
/// take (a 1.7 MB module compiles in about a second here).
pub const DEFAULT_COMPILE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// WebAssembly proposals beyond the 2.0 core (which, SIMD included, is
/// always on). A module using a disabled proposal is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Part of 2.0; switchable only so that suites written against 1.0
    /// (such as the threads proposal's) can be checked as written.
    pub reference_types: bool,
    pub threads: bool,
    pub tail_call: bool,
    pub extended_const: bool,
    pub multi_memory: bool,
}

impl Features {
    /// Exactly WebAssembly 2.0.
    pub const WASM2: Features = Features {
        reference_types: true,
        threads: false,
        tail_call: false,
        extended_const: false,
        multi_memory: false,
    };

    /// Everything this compiler supports.
    pub const ALL: Features = Features {
        reference_types: true,
        threads: true,
        tail_call: true,
        extended_const: true,
        multi_memory: true,
    };
}

impl Default for Features {
    fn default() -> Self {
        Features::ALL
    }
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
/// artifacts whose version equals its own compiler's.
pub fn version() -> String {
    format!("faasmc {} (abi 2)", env!("CARGO_PKG_VERSION"))
}
