//! SIMD and threads, side by side in one run:
//! - `simd/dot/{native,faasm-scalar,faasm-simd}`: an f32 dot product
//!   (kernels/simd_dot.c) built natively (clang -O2), to wasm without SIMD,
//!   and to wasm with `-msimd128`, where it is written with the wasm SIMD
//!   intrinsics;
//! - `threads/psum/{1,2}`: a parallel sum with a barrier (kernels/psum.c)
//!   on one thread and on two, the second spawned through wasi-threads
//!   (`faasm_hostif::threads`).
//!
//! Every side's checksum is checked before anything is timed. With
//! `--bench`, a table of ratios follows criterion's output.

use criterion::Criterion;
use faasm_benches::timing::{Stats, measure_interleaved};
use faasm_hostif::threads::{ThreadSpawner, ThreadsConfig};
use faasm_runtime::{Engine, Func, Instance, Linker, Module, Val};
use std::hint::black_box;
use std::time::Duration;

/// Dot products per call (of 4096-element vectors).
const DOT_REPS: i32 = 2000;
/// Rounds of the parallel sum per call (each over 2 Mi elements).
const PSUM_ROUNDS: i32 = 4;

#[cfg(native_simd)]
mod native {
    unsafe extern "C" {
        fn run_dot(n: i32) -> i64;
    }

    pub fn dot(n: i32) -> Option<i64> {
        // SAFETY: a self-contained C function over its own static buffers
        // (clamping `n`); benchmarks call it from one thread at a time.
        Some(unsafe { run_dot(n) })
    }
}

#[cfg(not(native_simd))]
mod native {
    pub fn dot(_n: i32) -> Option<i64> {
        None
    }
}

/// A wasm kernel from build.rs, or why it is missing.
fn load(engine: &Engine, path: &str, error: &str, what: &str) -> Option<Module> {
    if path.is_empty() {
        eprintln!("simd_threads: {what} skipped: {error}");
        return None;
    }
    let wasm = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Some(Module::new(engine, &wasm).unwrap_or_else(|e| panic!("{what}: {e}")))
}

fn func(instance: &Instance, name: &str) -> Func {
    instance
        .get_func(name)
        .unwrap_or_else(|| panic!("kernel does not export {name}"))
}

fn call_i64(f: &Func, n: i32) -> i64 {
    match f.call(&[Val::I32(n)]).expect("kernel call")[..] {
        [Val::I64(v)] => v,
        ref other => panic!("unexpected results {other:?}"),
    }
}

type Side = (&'static str, Box<dyn FnMut() -> i64>);

fn dot_sides(engine: &Engine) -> Vec<Side> {
    let mut sides: Vec<Side> = Vec::new();
    if native::dot(1).is_some() {
        sides.push((
            "native",
            Box::new(|| native::dot(black_box(DOT_REPS)).unwrap_or_default()),
        ));
    } else {
        eprintln!("simd_threads: native dot skipped: no C compiler");
    }
    for (label, path, error) in [
        (
            "faasm-scalar",
            env!("FAASM_BENCH_DOT_WASM"),
            env!("FAASM_BENCH_DOT_WASM_ERROR"),
        ),
        (
            "faasm-simd",
            env!("FAASM_BENCH_DOT_SIMD_WASM"),
            env!("FAASM_BENCH_DOT_SIMD_WASM_ERROR"),
        ),
    ] {
        let Some(module) = load(engine, path, error, label) else {
            continue;
        };
        let instance = Linker::new(engine)
            .instantiate(&module)
            .expect("instantiate");
        let f = func(&instance, "run_dot");
        sides.push((label, Box::new(move || call_i64(&f, black_box(DOT_REPS)))));
    }
    sides
}

/// The parallel sum with `workers` threads besides the caller's; stops
/// its workers when dropped.
struct Psum {
    run: Func,
    stop: Func,
    _spawner: ThreadSpawner,
}

impl Psum {
    fn new(engine: &Engine, module: &Module, workers: i32) -> Psum {
        let mut linker = Linker::new(engine);
        let spawner = ThreadSpawner::link(&mut linker, module, ThreadsConfig::default())
            .expect("wasi-threads set-up");
        let instance = spawner.instantiate(&linker).expect("instantiate");
        let started = func(&instance, "psum_start")
            .call(&[Val::I32(workers)])
            .expect("psum_start");
        assert!(
            matches!(started[..], [Val::I32(w)] if w == workers),
            "psum_start({workers}) = {started:?}"
        );
        Psum {
            run: func(&instance, "psum_run"),
            stop: func(&instance, "psum_stop"),
            _spawner: spawner,
        }
    }

    fn run(&self) -> i64 {
        call_i64(&self.run, black_box(PSUM_ROUNDS))
    }
}

impl Drop for Psum {
    fn drop(&mut self) {
        let _ = self.stop.call(&[]);
    }
}

fn psum_sides(engine: &Engine) -> Vec<Side> {
    let Some(module) = load(
        engine,
        env!("FAASM_BENCH_PSUM_WASM"),
        env!("FAASM_BENCH_PSUM_WASM_ERROR"),
        "psum",
    ) else {
        return Vec::new();
    };
    [("1-thread", 0), ("2-threads", 1)]
        .into_iter()
        .map(|(label, workers)| {
            let p = Psum::new(engine, &module, workers);
            (label, Box::new(move || p.run()) as Box<dyn FnMut() -> i64>)
        })
        .collect()
}

/// All sides must compute the same checksum.
fn check(group: &str, sides: &mut [Side]) {
    let mut first: Option<(&str, i64)> = None;
    for (label, f) in sides.iter_mut() {
        let v = f();
        match first {
            None => first = Some((label, v)),
            Some((l0, v0)) => assert_eq!(v, v0, "{group}: {label} disagrees with {l0}"),
        }
    }
}

fn bench(c: &mut Criterion, group: &str, sides: &mut [Side]) {
    let mut g = c.benchmark_group(group);
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (label, f) in sides.iter_mut() {
        g.bench_function(*label, |b| b.iter(|| black_box(f())));
    }
    g.finish();
}

/// Medians of interleaved runs and each side's time relative to the first.
fn ratios(group: &str, sides: &mut [Side]) {
    let labels: Vec<&str> = sides.iter().map(|(l, _)| *l).collect();
    let stats = {
        let mut fs: Vec<Box<dyn FnMut() + '_>> = sides
            .iter_mut()
            .map(|(_, f)| {
                Box::new(move || {
                    black_box(f());
                }) as Box<dyn FnMut()>
            })
            .collect();
        let mut refs: Vec<&mut dyn FnMut()> = fs.iter_mut().map(|f| &mut **f as _).collect();
        measure_interleaved(21, &mut refs)
    };
    let stats: Vec<Stats> = stats;
    let base = stats[0].median.as_secs_f64();
    println!(
        "{group} (median of 21 interleaved runs; time / {}):",
        labels[0]
    );
    for (label, s) in labels.iter().zip(&stats) {
        println!(
            "  {label:<14} {:>10.3} ms   {:>6.2}x",
            s.median.as_secs_f64() * 1e3,
            s.median.as_secs_f64() / base
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let engine = faasm_benches::default_engine();
    let mut dot = dot_sides(&engine);
    let mut psum = psum_sides(&engine);
    check("simd/dot", &mut dot);
    check("threads/psum", &mut psum);
    bench(&mut c, "simd/dot", &mut dot);
    bench(&mut c, "threads/psum", &mut psum);
    c.final_summary();
    // Criterion's test mode (`cargo test --benches`) runs each side once;
    // the table is for real runs.
    if std::env::args().any(|a| a == "--bench") {
        for (group, sides) in [("simd/dot", &mut dot), ("threads/psum", &mut psum)] {
            if sides.len() > 1 {
                ratios(group, sides);
            }
        }
    }
}
