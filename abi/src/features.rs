//! What a compile accepts (proposals beyond WebAssembly 2.0) and how long
//! it may take: chosen by the embedder, enforced by the compiler, named
//! here so that a runtime built without the compiler has the same
//! configuration types.

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

/// The default compile time limit (the compiler's
/// `CompileConfig::time_limit`, the runtime's `Config::compile_time_limit`):
/// far above what real modules take (a 1.7 MB module compiles in about a
/// second here).
pub const DEFAULT_COMPILE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);
