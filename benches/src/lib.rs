//! Shared pieces of the faasm-rs benchmarks: the C kernels (native and wasm
//! builds of the same sources), the Rust kernels (likewise, built on
//! demand), the call-overhead module, the compile guest, and a small timer
//! for the `faasm-bench` summary tool.
//!
//! Every benchmark needs toolchains that CI does not have (clang with the
//! wasm32 target, the wasm32-wasip1 Rust target); they report a [`BenchError`] skip
//! with the reason instead of failing.

pub mod calls;
pub mod cold_start;
pub mod guest;
pub mod imports;
pub mod kernels;
mod native_lib;
pub mod rust_kernels;
pub mod timing;
mod wat;

pub use wat::wat_to_wasm;

use thiserror::Error;

/// Why a benchmark did not run: a missing toolchain (a skip, reported
/// and tolerated) or a real failure (the benches panic on those).
#[derive(Debug, Error)]
pub enum BenchError {
    #[error("native kernels were not built (no C compiler at build time)")]
    NoNativeKernels,
    #[error("wasm kernels were not built: {0}")]
    NoWasmKernels(String),
    #[error("compile guest not available: {0}")]
    NoGuest(String),
    /// `guests/build-rust-kernels.sh` failed, or its output did not load:
    /// a failure, not a skip (it needs only cargo).
    #[error("Rust kernels not available: {0}")]
    RustKernels(String),
    #[error("faasm runtime failed: {0}")]
    Runtime(#[from] faasm_runtime::Error),
    #[error("{0}: checksum mismatch: native {2:#x}, {1} {3:#x}")]
    Mismatch(&'static str, &'static str, i64, i64),
    #[error("{0}")]
    Other(String),
}

impl BenchError {
    /// True when the environment lacks a toolchain; false for real failures.
    pub fn is_skip(&self) -> bool {
        matches!(
            self,
            BenchError::NoNativeKernels | BenchError::NoWasmKernels(_) | BenchError::NoGuest(_)
        )
    }

    /// Prints a skip and returns; panics on a real failure.
    pub fn skip_or_panic(self, bench: &str) {
        if self.is_skip() {
            eprintln!("faasm-benches: skipping {bench}: {self}");
        } else {
            panic!("faasm-benches: {bench} failed: {self}");
        }
    }
}

/// The engine configuration every faasm-side benchmark uses unless told
/// otherwise: the runtime's defaults (guarded memory, interrupts by signal).
pub fn default_engine() -> faasm_runtime::Engine {
    faasm_runtime::Engine::default()
}
