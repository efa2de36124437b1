//! C kernels, native vs faasm, side by side in one criterion group per
//! kernel (`kernels/<name>/native`, `kernels/<name>/faasm`), then a table
//! of faasm/native ratios and their geometric mean.

use criterion::Criterion;
use faasm_benches::kernels::{FaasmKernels, KERNELS, KernelPair};
use faasm_benches::timing::{Recorder, geomean};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn bench_kernels(c: &mut Criterion, rec: &Recorder) {
    let engine = faasm_benches::default_engine();
    let loaded = match FaasmKernels::load(&engine) {
        Ok(k) => k,
        Err(e) => return e.skip_or_panic("kernels"),
    };
    for spec in KERNELS {
        let pair = match KernelPair::new(*spec, &loaded) {
            Ok(p) => p,
            Err(e) => return e.skip_or_panic("kernels"),
        };
        let mut group = c.benchmark_group(format!("kernels/{}", spec.name));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let native_key = format!("{}/native", spec.name);
        group.bench_function("native", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(pair.native.call(black_box(spec.arg)));
                }
                let elapsed = start.elapsed();
                rec.record(&native_key, iters, elapsed);
                elapsed
            })
        });
        let faasm_key = format!("{}/faasm", spec.name);
        group.bench_function("faasm", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(pair.faasm.call(black_box(spec.arg)).expect("faasm kernel"));
                }
                let elapsed = start.elapsed();
                rec.record(&faasm_key, iters, elapsed);
                elapsed
            })
        });
        group.finish();
    }
}

fn print_summary(rec: &Recorder) {
    let mut ratios = Vec::new();
    println!(
        "\n{:<10} {:>12} {:>12} {:>8}",
        "kernel", "native", "faasm", "ratio"
    );
    for spec in KERNELS {
        let (Some(n), Some(f)) = (
            rec.median_ns(&format!("{}/native", spec.name)),
            rec.median_ns(&format!("{}/faasm", spec.name)),
        ) else {
            continue;
        };
        ratios.push(f / n);
        println!(
            "{:<10} {:>9.3} ms {:>9.3} ms {:>7.2}x",
            spec.name,
            n / 1e6,
            f / 1e6,
            f / n
        );
    }
    if !ratios.is_empty() {
        println!("{:<10} {:>36.2}x", "geomean", geomean(&ratios));
    }
}

fn main() {
    let rec = Recorder::default();
    let mut c = Criterion::default().configure_from_args();
    bench_kernels(&mut c, &rec);
    c.final_summary();
    print_summary(&rec);
}
