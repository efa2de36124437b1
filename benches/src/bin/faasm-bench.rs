//! `faasm-bench`: a quick summary of faasm performance to quote — kernel
//! ratios faasm/native with their geometric mean, call overheads in ns and
//! compile throughput in MB/s. `cargo bench` has the criterion versions.

use clap::{Parser, ValueEnum};
use faasm_benches::BenchError;
use faasm_benches::calls::{CallsModule, LOOP_ITERS, four_args};
use faasm_benches::guest::{code_section_size, guest_wasm};
use faasm_benches::kernels::{
    FaasmKernels, KERNELS, KernelPair, NativeKernel, NativeVariant, WasmVariant,
};
use faasm_benches::timing::{geomean, measure, measure_interleaved, ns_per};
use faasm_compiler::{CompileConfig, Timings, compile_with_timings};
use faasm_runtime::{Config, Engine, Linker, MemoryStrategy, Module, Val};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    Kernels,
    Calls,
    Startup,
    Compile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Strategy {
    Guarded,
    Explicit,
}

#[derive(Debug, Parser)]
#[command(about = "Summary benchmarks of faasm-rs (kernels vs native, calls, compile)")]
struct Args {
    /// Sections to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Section>,
    /// Timed rounds per kernel (each side runs once per round, best kept).
    #[arg(long, default_value_t = 101)]
    reps: usize,
    /// Memory SFI strategy for the faasm side.
    #[arg(long, value_enum, default_value_t = Strategy::Guarded)]
    strategy: Strategy,
    /// Also poll the interrupt word at loop headers (the old way; the
    /// default stops code by signal).
    #[arg(long)]
    poll_interrupts: bool,
}

fn engine(args: &Args) -> Engine {
    let mut config = Config {
        poll_interrupts: args.poll_interrupts,
        ..Config::default()
    };
    if args.strategy == Strategy::Explicit {
        config.memory_strategy = MemoryStrategy::Explicit;
    }
    Engine::new(config)
}

fn main() {
    let args = Args::parse();
    let run = |s| args.only.is_empty() || args.only.contains(&s);
    println!(
        "faasm-bench: strategy {:?}, poll interrupts {}",
        args.strategy, args.poll_interrupts
    );
    let mut failed = false;
    for (section, f) in [
        (
            Section::Kernels,
            kernels as fn(&Args) -> Result<(), BenchError>,
        ),
        (Section::Calls, calls),
        (Section::Startup, startup),
        (Section::Compile, compile_throughput),
    ] {
        if !run(section) {
            continue;
        }
        if let Err(e) = f(&args) {
            if e.is_skip() {
                println!("{section:?}: skipped: {e}");
            } else {
                println!("{section:?}: FAILED: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

fn kernels(args: &Args) -> Result<(), BenchError> {
    let engine = engine(args);
    let mut loaded = Vec::new();
    for variant in WasmVariant::ALL {
        let start = Instant::now();
        match FaasmKernels::load(&engine, variant) {
            Ok(k) => {
                println!(
                    "{}: kernel module compiled + instantiated in {:.1} ms",
                    variant.label(),
                    ms(start.elapsed())
                );
                loaded.push(k);
            }
            Err(e) if variant == WasmVariant::Scalar => return Err(e),
            Err(e) => println!("{} left out: {e}", variant.label()),
        }
    }
    println!(
        "\nkernels: best of {} interleaved rounds (the minimum is the least disturbed by other load)",
        args.reps
    );
    println!(
        "native = clang -O2 (auto-vectorised, SSE2); novec = clang -O2 -fno-vectorize -fno-slp-vectorize;"
    );
    println!(
        "faasm = scalar wasm32 build; faasm-simd = -msimd128 build. Ratios are time / native time."
    );
    print!("{:<14} {:>9} {:>9}", "kernel", "native", "novec");
    for k in &loaded {
        let l = k.variant.label();
        print!(" {l:>10} {:>6}", "ratio");
        if k.variant == WasmVariant::Scalar {
            print!(" {:>9}", "vs novec");
        }
    }
    println!();
    let mut ratios = vec![Vec::new(); loaded.len()];
    let mut ratios_novec = Vec::new();
    for spec in KERNELS {
        // Only builds whose checksum matches native are timed.
        let mut pairs = Vec::new();
        for kernels in &loaded {
            match KernelPair::new(*spec, kernels) {
                Ok(p) => pairs.push(Some(p)),
                Err(e) if kernels.variant == WasmVariant::Scalar => return Err(e),
                Err(e) => {
                    println!("  {} FAILED: {e}", kernels.variant.label());
                    pairs.push(None);
                }
            }
        }
        let native = pairs
            .iter()
            .flatten()
            .next()
            .map(|p| p.native)
            .expect("scalar pair");
        let novec = NativeKernel::get_variant(spec.symbol, NativeVariant::Scalar)?;
        let novec_sum = novec.call(spec.arg);
        if novec_sum
            != pairs
                .iter()
                .flatten()
                .next()
                .map_or(novec_sum, |p| p.checksum)
        {
            return Err(BenchError::Other(format!(
                "{}: scalar native build disagrees with the vectorised one",
                spec.name
            )));
        }
        let mut native_run = || {
            black_box(native.call(black_box(spec.arg)));
        };
        let mut novec_run = || {
            black_box(novec.call(black_box(spec.arg)));
        };
        let mut faasm_runs: Vec<_> = pairs
            .iter()
            .flatten()
            .map(|p| {
                let f = p.faasm.clone();
                move || {
                    black_box(f.call(black_box(spec.arg)).expect("faasm kernel"));
                }
            })
            .collect();
        let mut all: Vec<&mut dyn FnMut()> = vec![&mut native_run, &mut novec_run];
        all.extend(faasm_runs.iter_mut().map(|f| f as &mut dyn FnMut()));
        let stats = measure_interleaved(args.reps, &mut all);
        let native_t = stats[0].min.as_secs_f64();
        let novec_t = stats[1].min.as_secs_f64();
        let mut row = String::new();
        let mut timed = stats[2..].iter();
        for (i, (pair, kernels)) in pairs.iter().zip(&loaded).enumerate() {
            if pair.is_none() {
                row.push_str(&format!(" {:>10} {:>6}", "-", "-"));
                continue;
            }
            let t = timed
                .next()
                .expect("one stat per timed pair")
                .min
                .as_secs_f64();
            ratios[i].push(t / native_t);
            row.push_str(&format!(" {:>7.3} ms {:>5.2}x", t * 1e3, t / native_t));
            if kernels.variant == WasmVariant::Scalar {
                ratios_novec.push(t / novec_t);
                row.push_str(&format!(" {:>8.2}x", t / novec_t));
            }
        }
        println!(
            "{:<14} {:>6.3} ms {:>6.3} ms{row}",
            spec.name,
            native_t * 1e3,
            novec_t * 1e3
        );
    }
    print!("{:<14} {:>9} {:>9}", "geomean", "", "");
    for (r, k) in ratios.iter().zip(&loaded) {
        print!(" {:>10} {:>5.2}x", "", geomean(r));
        if k.variant == WasmVariant::Scalar {
            print!(" {:>8.2}x", geomean(&ratios_novec));
        }
    }
    println!();
    println!("inputs:");
    for spec in KERNELS {
        println!("  {:<14} {}", spec.name, spec.what);
    }
    Ok(())
}

fn calls(args: &Args) -> Result<(), BenchError> {
    let engine = engine(args);
    let calls = CallsModule::load(&engine)?;
    // Host→wasm: batches of calls, best batch of 25 (least disturbed).
    const BATCH: u64 = 20_000;
    let per_call = |f: &dyn Fn()| {
        let s = measure(25, || {
            for _ in 0..BATCH {
                f();
            }
        });
        ns_per(s.min, BATCH)
    };
    let nop0 = calls.func("nop0");
    let nop4 = calls.func("nop4");
    let four = four_args();
    println!("\ncalls (ns per call, best of 25 batches)");
    let t0 = per_call(&|| {
        black_box(nop0.call(&[]).expect("nop0"));
    });
    let t4 = per_call(&|| {
        black_box(nop4.call(black_box(&four)).expect("nop4"));
    });
    println!("  host->wasm Func::call, 0 args  {t0:>8.2} ns");
    println!("  host->wasm Func::call, 4 args  {t4:>8.2} ns");
    // Wasm→host: a wasm loop of LOOP_ITERS calls, minus the empty loop.
    let loop_ns = |name: &str| {
        let f = calls.func(name);
        let s = measure(25, || {
            f.call(&[Val::I32(LOOP_ITERS)]).expect("loop");
        });
        ns_per(s.min, LOOP_ITERS as u64)
    };
    let base = loop_ns("loop_empty");
    for (name, what) in [
        ("loop_wasm0", "wasm->wasm call, 0 args  "),
        ("loop_host0", "wasm->host call, 0 args  "),
        ("loop_host4", "wasm->host call, 4 args  "),
    ] {
        println!("  {what}     {:>8.2} ns", loop_ns(name) - base);
    }
    println!("  (empty loop iteration: {base:.2} ns)");
    Ok(())
}

/// Cold-start pieces of a Faaslet: loading a compiled artifact and
/// instantiating it (memory mapping, data segments, linking), then the
/// first call. Uses the kernel module (7.9 MB initial memory since the
/// PolyBench-style kernels joined it; 3.4 MB before).
fn startup(args: &Args) -> Result<(), BenchError> {
    let engine = engine(args);
    let wasm = WasmVariant::Scalar.wasm_bytes()?;
    let artifact = Module::new(&engine, &wasm)?.serialize();
    let load = measure(25, || {
        black_box(Module::from_artifact(&engine, &artifact).expect("load artifact"));
    });
    let module = Module::from_artifact(&engine, &artifact)?;
    let linker = Linker::new(&engine);
    let inst = measure(200, || {
        black_box(linker.instantiate(&module).expect("instantiate"));
    });
    let first_call = measure(200, || {
        let instance = linker.instantiate(&module).expect("instantiate");
        let f = instance.get_func("run_fib").expect("run_fib export");
        black_box(f.call(&[Val::I32(1)]).expect("call"));
    });
    println!(
        "\nstartup (kernel module: {:.0} KB artifact, median)",
        artifact.len() as f64 / 1e3
    );
    println!(
        "  Module::from_artifact           {:>9.1} us",
        us(load.median)
    );
    println!(
        "  Linker::instantiate             {:>9.1} us",
        us(inst.median)
    );
    println!(
        "  instantiate + first call        {:>9.1} us",
        us(first_call.median)
    );
    Ok(())
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn compile_throughput(args: &Args) -> Result<(), BenchError> {
    let wasm = guest_wasm()?;
    let code = code_section_size(&wasm).unwrap_or(0);
    println!(
        "\ncompile (guest: {:.2} MB module, {:.2} MB code section; median of 5 interleaved runs)",
        wasm.len() as f64 / 1e6,
        code as f64 / 1e6
    );
    let base = CompileConfig {
        poll_interrupts: args.poll_interrupts,
        ..CompileConfig::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .map_err(|e| BenchError::Other(e.to_string()))?;
    let runs = [("sequential", false), ("parallel (2 threads)", true)];
    let configs: Vec<CompileConfig> = runs
        .iter()
        .map(|&(_, parallel)| CompileConfig {
            parallel,
            ..base.clone()
        })
        .collect();
    // Interleaved so that load from elsewhere hits both modes alike.
    let last: Vec<std::cell::RefCell<Option<(usize, Timings)>>> =
        runs.iter().map(|_| Default::default()).collect();
    let compile_into = |config: &CompileConfig, slot: &std::cell::RefCell<_>| {
        let (artifact, t) = pool
            .install(|| compile_with_timings(&wasm, config))
            .expect("compile guest");
        *slot.borrow_mut() = Some((artifact.text.len(), t));
    };
    let mut sequential = || compile_into(&configs[0], &last[0]);
    let mut parallel = || compile_into(&configs[1], &last[1]);
    let stats = measure_interleaved(5, &mut [&mut sequential, &mut parallel]);
    for (((label, _), s), slot) in runs.iter().zip(&stats).zip(&last) {
        let secs = s.median.as_secs_f64();
        let (text_len, t) = slot.borrow_mut().take().unwrap_or_default();
        println!(
            "  {label:<22} {:>7.1} ms  {:>6.2} MB/s module  {:>6.2} MB/s code  \
             (validate {:.0} ms, translate {:.0} ms, codegen {:.0} ms; {:.2} MB machine code)",
            secs * 1e3,
            wasm.len() as f64 / 1e6 / secs,
            code as f64 / 1e6 / secs,
            ms(t.validation),
            ms(t.translation),
            ms(t.codegen),
            text_len as f64 / 1e6
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
