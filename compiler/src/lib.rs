//! faasmc: validates a WebAssembly module with `wasmparser`, translates every
//! function to Cranelift IR with our own translator, and emits a
//! position-independent [`Artifact`] for the runtime.

mod driver;
mod error;
mod inline;
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
    /// Poll the interrupt word at every loop header and at the entry of
    /// functions that call. Not needed for timeouts: the runtime stops
    /// running code with a signal (runtime/src/interrupt.rs), so the
    /// default is off and the polls cost nothing; kept to measure their
    /// price and for embedders that cannot take signals.
    pub poll_interrupts: bool,
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
    /// Run Cranelift's IR verifier on every function before code
    /// generation, so a translator bug that produces ill-formed IR fails
    /// the compile ([`CompileError`] naming the verifier's errors) instead
    /// of producing wrong code. Slow, so the default is on only in debug
    /// builds, or when the environment says so ([`verify_ir_default`]).
    pub verify_ir: bool,
    /// Copy small functions into their direct callers (`inline.rs`).
    /// Off only to measure what it buys; backtraces list inlined
    /// functions either way.
    pub inline: bool,
}

impl Default for CompileConfig {
    fn default() -> Self {
        CompileConfig {
            memory_strategy: MemoryStrategy::default(),
            poll_interrupts: false,
            parallel: true,
            opt_level: "speed",
            features: Features::default(),
            time_limit: Some(DEFAULT_COMPILE_TIME_LIMIT),
            verify_ir: verify_ir_default(),
            inline: true,
        }
    }
}

/// The environment variable that switches the IR verifier on (`1`) or off
/// (`0`) in [`CompileConfig::default`], whatever the build profile. CI sets
/// it to run release-built tests with the verifier on.
pub const VERIFY_IR_ENV: &str = "FAASM_VERIFY_IR";

/// Whether [`CompileConfig::default`] runs the IR verifier: as
/// [`VERIFY_IR_ENV`] says, and without it in debug builds only.
pub fn verify_ir_default() -> bool {
    verify_ir_setting(std::env::var(VERIFY_IR_ENV).ok().as_deref())
}

/// [`VERIFY_IR_ENV`]'s meaning: `0`, `false`, `off` or empty switch the
/// verifier off, any other value on; unset leaves the build's default.
fn verify_ir_setting(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None => cfg!(debug_assertions),
        Some("" | "0" | "false" | "off") => false,
        Some(_) => true,
    }
}

/// The version string written into artifacts; the runtime only loads
/// artifacts whose version equals its own ([`faasm_abi::target`]).
pub fn version() -> String {
    faasm_abi::target::compiler_version()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_ir_variable_overrides_the_build_default() {
        assert_eq!(verify_ir_setting(None), cfg!(debug_assertions));
        for on in ["1", "true", "yes", " 1 "] {
            assert!(verify_ir_setting(Some(on)), "{on:?}");
        }
        for off in ["0", "false", "off", ""] {
            assert!(!verify_ir_setting(Some(off)), "{off:?}");
        }
    }
}
