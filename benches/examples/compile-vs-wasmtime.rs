//! Compile throughput of faasm-rs and wasmtime 48 side by side, on the
//! same >1 MB module (the regex/serde_json/toml guest), at 1 and 2
//! threads: each side compiles it in interleaved rounds (so load from
//! elsewhere hits all sides alike), medians in MB of module per second.
//!
//! `cargo run --release -p faasm-benches --example compile-vs-wasmtime [-- ROUNDS]`
//!
//! Both compile with Cranelift at its default (speed) optimisation level;
//! "2 threads" runs each compile inside one 2-thread rayon pool, which
//! both compilers use for their per-function parallelism.

use faasm_benches::guest::{code_section_size, guest_wasm};
use faasm_benches::timing::measure_interleaved;
use faasm_compiler::{CompileConfig, compile};
use std::hint::black_box;

fn wasmtime_engine(parallel: bool) -> wasmtime::Engine {
    let mut config = wasmtime::Config::new();
    config.parallel_compilation(parallel);
    wasmtime::Engine::new(&config).expect("wasmtime engine")
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROUNDS is a number"))
        .unwrap_or(5);
    let wasm = guest_wasm().unwrap_or_else(|e| panic!("{e}"));
    let mb = wasm.len() as f64 / 1e6;
    println!(
        "compile: {mb:.2} MB module, {:.2} MB code section; {rounds} interleaved rounds, medians",
        code_section_size(&wasm).unwrap_or(0) as f64 / 1e6
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("rayon pool");
    let faasm = |parallel: bool| CompileConfig {
        parallel,
        ..CompileConfig::default()
    };
    let (f1, f2) = (faasm(false), faasm(true));
    let (w1, w2) = (wasmtime_engine(false), wasmtime_engine(true));
    let mut faasm_1t = || {
        black_box(compile(&wasm, &f1).expect("faasm compile"));
    };
    let mut faasm_2t = || {
        pool.install(|| black_box(compile(&wasm, &f2).expect("faasm compile")));
    };
    let mut wasmtime_1t = || {
        black_box(wasmtime::Module::new(&w1, &wasm).expect("wasmtime compile"));
    };
    let mut wasmtime_2t = || {
        pool.install(|| black_box(wasmtime::Module::new(&w2, &wasm).expect("wasmtime compile")));
    };
    let stats = measure_interleaved(
        rounds,
        &mut [
            &mut faasm_1t,
            &mut faasm_2t,
            &mut wasmtime_1t,
            &mut wasmtime_2t,
        ],
    );
    let secs: Vec<f64> = stats.iter().map(|s| s.median.as_secs_f64()).collect();
    println!("| threads | faasm-rs | wasmtime | faasm-rs / wasmtime time |");
    println!("|---|---:|---:|---:|");
    for (label, f, w) in [("1", secs[0], secs[2]), ("2", secs[1], secs[3])] {
        println!(
            "| {label} | {:.0} ms, {:.2} MB/s | {:.0} ms, {:.2} MB/s | {:.2}x |",
            f * 1e3,
            mb / f,
            w * 1e3,
            mb / w,
            f / w
        );
    }
    println!(
        "2 threads / 1 thread speed-up: faasm-rs {:.2}x, wasmtime {:.2}x",
        secs[0] / secs[1],
        secs[2] / secs[3]
    );
}
