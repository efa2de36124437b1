//! Compile throughput (MB of wasm per second) on a real >1 MB module (the
//! regex/serde_json/toml guest), sequential vs parallel on 2 rayon threads.

use criterion::{Criterion, Throughput};
use faasm_benches::guest::{code_section_size, guest_wasm};
use faasm_compiler::{CompileConfig, compile};
use std::hint::black_box;
use std::time::Duration;

fn bench_compile(c: &mut Criterion) {
    let wasm = match guest_wasm() {
        Ok(w) => w,
        Err(e) => return e.skip_or_panic("compile"),
    };
    eprintln!(
        "compile guest: {:.2} MB module, {:.2} MB code section",
        wasm.len() as f64 / 1e6,
        code_section_size(&wasm).unwrap_or(0) as f64 / 1e6
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("rayon pool");

    let mut group = c.benchmark_group("compile/guest");
    group
        .throughput(Throughput::Bytes(wasm.len() as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let sequential = CompileConfig {
        parallel: false,
        ..CompileConfig::default()
    };
    group.bench_function("sequential", |b| {
        b.iter(|| black_box(compile(&wasm, &sequential).expect("compile")))
    });
    let parallel = CompileConfig {
        parallel: true,
        ..CompileConfig::default()
    };
    group.bench_function("parallel-2", |b| {
        b.iter(|| pool.install(|| black_box(compile(&wasm, &parallel).expect("compile"))))
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_compile(&mut c);
    c.final_summary();
}
