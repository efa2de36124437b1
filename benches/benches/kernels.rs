//! C kernels, native vs faasm, side by side in one criterion group per
//! kernel (`kernels/<name>/native`, `.../faasm` for the scalar wasm build,
//! `.../faasm-simd` for the simd128 build), then a table of faasm/native
//! ratios and their geometric means.

use criterion::Criterion;
use faasm_benches::kernels::{
    FaasmKernel, FaasmKernels, KERNELS, KernelPair, NativeKernel, WasmVariant,
};
use faasm_benches::timing::{Recorder, geomean};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Loads every wasm build that works; the scalar one is required, a
/// failing SIMD build is reported and left out.
fn load_variants() -> Option<Vec<FaasmKernels>> {
    let engine = faasm_benches::default_engine();
    let mut loaded = Vec::new();
    for variant in WasmVariant::ALL {
        match FaasmKernels::load(&engine, variant) {
            Ok(k) => loaded.push(k),
            Err(e) if variant == WasmVariant::Scalar => {
                e.skip_or_panic("kernels");
                return None;
            }
            Err(e) => eprintln!("faasm-benches: {} left out: {e}", variant.label()),
        }
    }
    Some(loaded)
}

/// Times `f` over criterion's iteration count and records the result.
fn timed(rec: &Recorder, key: &str, iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    let elapsed = start.elapsed();
    rec.record(key, iters, elapsed);
    elapsed
}

fn bench_kernels(c: &mut Criterion, rec: &Recorder) {
    let Some(loaded) = load_variants() else {
        return;
    };
    for spec in KERNELS {
        // Every side is checked against the native checksum before timing.
        let mut native: Option<NativeKernel> = None;
        let mut sides: Vec<(&'static str, FaasmKernel)> = Vec::new();
        for kernels in &loaded {
            match KernelPair::new(*spec, kernels) {
                Ok(pair) => {
                    native = Some(pair.native);
                    sides.push((kernels.variant.label(), pair.faasm));
                }
                Err(e) if e.is_skip() || kernels.variant == WasmVariant::Scalar => {
                    return e.skip_or_panic("kernels");
                }
                Err(e) => eprintln!("faasm-benches: {} left out: {e}", kernels.variant.label()),
            }
        }
        let Some(native) = native else { continue };
        let mut group = c.benchmark_group(format!("kernels/{}", spec.name));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let key = format!("{}/native", spec.name);
        group.bench_function("native", |b| {
            b.iter_custom(|iters| {
                timed(rec, &key, iters, || {
                    black_box(native.call(black_box(spec.arg)));
                })
            })
        });
        for (label, faasm) in &sides {
            let key = format!("{}/{label}", spec.name);
            group.bench_function(*label, |b| {
                b.iter_custom(|iters| {
                    timed(rec, &key, iters, || {
                        black_box(faasm.call(black_box(spec.arg)).expect("faasm kernel"));
                    })
                })
            });
        }
        group.finish();
    }
}

fn print_summary(rec: &Recorder) {
    let labels = WasmVariant::ALL.map(WasmVariant::label);
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); labels.len()];
    print!("\n{:<14} {:>12}", "kernel", "native");
    for l in labels {
        print!(" {l:>12} {:>7}", "ratio");
    }
    println!();
    for spec in KERNELS {
        let Some(native) = rec.median_ns(&format!("{}/native", spec.name)) else {
            continue;
        };
        print!("{:<14} {:>9.3} ms", spec.name, native / 1e6);
        for (i, l) in labels.iter().enumerate() {
            match rec.median_ns(&format!("{}/{l}", spec.name)) {
                Some(t) => {
                    ratios[i].push(t / native);
                    print!(" {:>9.3} ms {:>6.2}x", t / 1e6, t / native);
                }
                None => print!(" {:>12} {:>7}", "-", "-"),
            }
        }
        println!();
    }
    print!("{:<14} {:>12}", "geomean", "");
    for r in &ratios {
        if r.is_empty() {
            print!(" {:>12} {:>7}", "", "-");
        } else {
            print!(" {:>12} {:>6.2}x", "", geomean(r));
        }
    }
    println!();
}

fn main() {
    let rec = Recorder::default();
    let mut c = Criterion::default().configure_from_args();
    bench_kernels(&mut c, &rec);
    c.final_summary();
    print_summary(&rec);
}
