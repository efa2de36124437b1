//! Helpers shared by the compiler's integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use faasm_compiler::{Artifact, CompileConfig, CompileError};

/// Encodes WebAssembly text to binary.
pub fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("lexing test module");
    let mut module: wast::Wat = wast::parser::parse(&buf).expect("parsing test module");
    module.encode().expect("encoding test module")
}

pub fn compile(wasm: &[u8]) -> Result<Artifact, CompileError> {
    faasm_compiler::compile(wasm, &CompileConfig::default())
}

pub fn compile_wat(text: &str) -> Artifact {
    compile(&wat(text)).unwrap_or_else(|e| panic!("compiling test module: {e}"))
}
