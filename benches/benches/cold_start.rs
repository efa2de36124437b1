//! Criterion: issue 7's cold start on its module, faasm-rs against wasmtime
//! (`benches/README.md`; the interleaved one-run comparison is the
//! `cold-start-vs-wasmtime` example).

use criterion::{Criterion, criterion_group, criterion_main};
use faasm_benches::cold_start::{FaasmSide, cold_start_wasm};

#[path = "../cold-start/wasmtime_side.rs"]
mod wasmtime_side;
use wasmtime_side::WasmtimeSide;

fn cold_start(c: &mut Criterion) {
    let wasm = cold_start_wasm();
    let engine = faasm_benches::default_engine();
    let faasm = FaasmSide::new(&engine, &wasm).expect("faasm side");
    let pooling = WasmtimeSide::pooling(&wasm, 64).expect("wasmtime pooling");
    let on_demand = WasmtimeSide::on_demand(&wasm).expect("wasmtime on-demand");
    let mut g = c.benchmark_group("cold_start");
    g.bench_function("faasm_restore_call", |b| {
        b.iter(|| drop(faasm.restore().expect("restore")))
    });
    g.bench_function("faasm_reuse_call", |b| {
        let mut i = faasm.restore().expect("restore");
        b.iter(|| faasm.reuse(&mut i).expect("reuse"))
    });
    g.bench_function("wasmtime_pooling_cow_call", |b| {
        b.iter(|| drop(pooling.start().expect("wasmtime pooling")))
    });
    g.bench_function("wasmtime_on_demand_call", |b| {
        b.iter(|| drop(on_demand.start().expect("wasmtime on-demand")))
    });
    g.sample_size(20);
    g.bench_function("faasm_fresh_init_call", |b| {
        b.iter(|| drop(faasm.fresh().expect("fresh")))
    });
    g.bench_function("wasmtime_pooling_cow_init_call", |b| {
        b.iter(|| drop(pooling.start_init().expect("wasmtime init")))
    });
    g.finish();
}

criterion_group!(benches, cold_start);
criterion_main!(benches);
