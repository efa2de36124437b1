//! faasm: a Faasm-style serverless runtime. Functions ("Faaslets") are
//! WebAssembly instances isolated by software fault isolation inside one
//! process, compiled ahead of time by our own wasm→Cranelift compiler.
//!
//! This crate is the executor side: [`executor`] is the function store,
//! worker pool and chaining (`faasm-run upload/invoke/list`); [`run`] loads
//! one module, links WASI and calls it (`faasm-run FILE`); [`cli`] is the
//! command line; [`exit`] is how every front end ends (statuses, errors); [`values`] converts between text and wasm values;
//! [`demo`] is `faasm-run demo sgd` and its benchmark.

pub mod bench;
pub mod cache;
pub mod cli;
pub mod demo;
pub mod executor;
pub mod exit;
pub mod run;
pub mod server;
pub mod values;
