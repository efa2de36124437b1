//! Call overheads in ns per call: host→wasm (`Func::call` of a no-op export
//! with 0 and 4 i32 arguments) and wasm→host (a wasm loop calling an
//! imported host no-op, minus the same loop without the call, over N).

use criterion::{Criterion, Throughput};
use faasm_benches::calls::{CallsModule, LOOP_ITERS, four_args};
use faasm_benches::timing::Recorder;
use faasm_runtime::Val;
use std::hint::black_box;
use std::time::Instant;

fn bench_calls(c: &mut Criterion, rec: &Recorder) {
    let engine = faasm_benches::default_engine();
    let calls = match CallsModule::load(&engine) {
        Ok(m) => m,
        Err(e) => return e.skip_or_panic("calls"),
    };

    let mut group = c.benchmark_group("calls/host_to_wasm");
    let nop0 = calls.func("nop0");
    group.bench_function("nop0", |b| {
        b.iter(|| black_box(nop0.call(&[]).expect("nop0")))
    });
    let nop4 = calls.func("nop4");
    let args = four_args();
    group.bench_function("nop4", |b| {
        b.iter(|| black_box(nop4.call(black_box(&args)).expect("nop4")))
    });
    group.finish();

    let mut group = c.benchmark_group("calls/wasm_loop");
    group.throughput(Throughput::Elements(LOOP_ITERS as u64));
    for name in ["loop_empty", "loop_wasm0", "loop_host0", "loop_host4"] {
        let func = calls.func(name);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    func.call(&[Val::I32(LOOP_ITERS)]).expect(name);
                }
                let elapsed = start.elapsed();
                rec.record(name, iters, elapsed);
                elapsed
            })
        });
    }
    group.finish();
}

fn print_summary(rec: &Recorder) {
    let Some(base) = rec.median_ns("loop_empty") else {
        return;
    };
    println!("\nper-call overhead (loop of {LOOP_ITERS}, empty-loop baseline subtracted):");
    for (name, what) in [
        ("loop_wasm0", "wasm->wasm call, 0 args"),
        ("loop_host0", "wasm->host call, 0 args"),
        ("loop_host4", "wasm->host call, 4 i32 args"),
    ] {
        if let Some(t) = rec.median_ns(name) {
            println!("  {what:<28} {:>8.2} ns", (t - base) / LOOP_ITERS as f64);
        }
    }
}

fn main() {
    let rec = Recorder::default();
    let mut c = Criterion::default().configure_from_args();
    bench_calls(&mut c, &rec);
    c.final_summary();
    print_summary(&rec);
}
