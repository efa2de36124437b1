//! Helpers shared by the compiler's integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use faasm_compiler::{Artifact, CompileConfig, CompileError};

pub use faasm_testutil::wat;

pub fn compile(wasm: &[u8]) -> Result<Artifact, CompileError> {
    faasm_compiler::compile(wasm, &CompileConfig::default())
}

pub fn compile_wat(text: &str) -> Artifact {
    compile(&wat(text)).unwrap_or_else(|e| panic!("compiling test module: {e}"))
}
