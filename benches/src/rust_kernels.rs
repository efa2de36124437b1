//! The Rust kernels: JSON (serde, serde_json) and regex work written in
//! Rust (`guests/rust-kernels`), with the C kernels' interface
//! (`run_NAME(i32) -> i64`), built by `guests/build-rust-kernels.sh` as two
//! wasm32-wasip1 modules (scalar, `+simd128`) and two native shared
//! libraries (vectorised, and scalar: `-C no-vectorize-loops -C
//! no-vectorize-slp`).
//!
//! Unlike the C kernels (built by build.rs when clang is there, skipped
//! when it is not), these are built on demand by cargo, which is always
//! there: a failed build is an error ([`BenchError::RustKernels`]), never a
//! skip.

use crate::BenchError;
use crate::guest::run_build_script;
pub use crate::kernels::RUST_KERNELS;
use crate::kernels::{NativeKernel, NativeVariant, WasmVariant};
use crate::native_lib::RustKernelLib;
use std::path::PathBuf;

/// The build script, relative to this crate.
pub const BUILD_SCRIPT: &str = "guests/build-rust-kernels.sh";

/// One of the four builds of `guests/rust-kernels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustBuild {
    /// wasm32-wasip1, default features.
    WasmScalar,
    /// wasm32-wasip1 with `-C target-feature=+simd128`.
    WasmSimd,
    /// The host target, default flags (LLVM auto-vectorises).
    Native,
    /// The host target without LLVM's loop and SLP vectorisers.
    NativeScalar,
}

impl RustBuild {
    pub const ALL: [RustBuild; 4] = [
        RustBuild::WasmScalar,
        RustBuild::WasmSimd,
        RustBuild::Native,
        RustBuild::NativeScalar,
    ];

    /// The build script's name for it.
    pub fn arg(self) -> &'static str {
        match self {
            RustBuild::WasmScalar => "wasm-scalar",
            RustBuild::WasmSimd => "wasm-simd",
            RustBuild::Native => "native",
            RustBuild::NativeScalar => "native-scalar",
        }
    }

    pub fn wasm(variant: WasmVariant) -> RustBuild {
        match variant {
            WasmVariant::Scalar => RustBuild::WasmScalar,
            WasmVariant::Simd => RustBuild::WasmSimd,
        }
    }

    pub fn native(variant: NativeVariant) -> RustBuild {
        match variant {
            NativeVariant::Scalar => RustBuild::NativeScalar,
            NativeVariant::Vectorized => RustBuild::Native,
        }
    }
}

/// Built artifacts of the Rust kernels.
pub struct RustKernels {
    paths: Vec<(RustBuild, PathBuf)>,
}

impl RustKernels {
    /// Builds (or refreshes: cargo caches each build) `builds` with
    /// [`BUILD_SCRIPT`].
    pub fn build(builds: &[RustBuild]) -> Result<RustKernels, BenchError> {
        let args: Vec<&str> = builds.iter().map(|b| b.arg()).collect();
        let paths = run_build_script(BUILD_SCRIPT, &args).map_err(BenchError::RustKernels)?;
        if paths.len() != builds.len() {
            return Err(BenchError::RustKernels(format!(
                "{BUILD_SCRIPT} printed {} paths for {} builds",
                paths.len(),
                builds.len()
            )));
        }
        Ok(RustKernels {
            paths: builds.iter().copied().zip(paths).collect(),
        })
    }

    fn path(&self, build: RustBuild) -> Result<&PathBuf, BenchError> {
        self.paths
            .iter()
            .find(|(b, _)| *b == build)
            .map(|(_, p)| p)
            .ok_or_else(|| BenchError::RustKernels(format!("{} was not built", build.arg())))
    }

    /// The bytes of the wasm module of `variant`.
    pub fn wasm_bytes(&self, variant: WasmVariant) -> Result<Vec<u8>, BenchError> {
        let path = self.path(RustBuild::wasm(variant))?;
        std::fs::read(path).map_err(|e| BenchError::RustKernels(format!("{}: {e}", path.display())))
    }

    /// The `variant` native build of the kernel `symbol` (its library
    /// stays loaded; opening it again finds the same one).
    pub fn native(&self, symbol: &str, variant: NativeVariant) -> Result<NativeKernel, BenchError> {
        RustKernelLib::open(self.path(RustBuild::native(variant))?)?.kernel(symbol)
    }
}
