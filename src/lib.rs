//! faasm: a Faasm-style serverless runtime. Functions ("Faaslets") are
//! WebAssembly instances isolated by software fault isolation inside one
//! process, compiled ahead of time by our own wasm→Cranelift compiler.
//!
//! This crate is the executor side. For now it holds what `faasm-run`
//! needs: [`run`] loads a module, links WASI and calls it; [`cli`] is the
//! command line; [`values`] converts between text and wasm values.

pub mod cli;
pub mod run;
pub mod values;
