//! The C kernels on three sides in one run: native, faasm-rs and wasmtime:
//!
//! ```sh
//! cargo run --release -p faasm-benches --example kernels-vs-wasmtime \
//!     [-- --reps N --only NAME[,NAME..] --json --poll-interrupts --wasmtime-epoch]
//! ```
//!
//! For each wasm build of the kernels (scalar, `-msimd128`) the SAME `.wasm`
//! bytes are compiled by faasm-rs (the runtime's default engine: guarded
//! memory, stopped by signal, no polls in loops) and by wasmtime 48 (a dev-dependency of this
//! crate only; `Config::new()`: Cranelift at opt level `speed`, no epoch or
//! fuel checks). The scalar build is compared with the scalar native build
//! (clang -O2 without the loop and SLP vectorisers), the SIMD build with the
//! vectorised native build. All three sides must return the same checksum
//! before a kernel is timed; then they run interleaved, one run of each per
//! round (so load from elsewhere on the machine hits all sides alike), and
//! the table shows the BEST of `--reps` rounds (the run least disturbed by
//! other load; `--json` gives the medians as well).
//!
//! Both sides are then stoppable from outside only in faasm's case (a
//! signal, at no cost to the code). `--poll-interrupts` compiles faasm's
//! loops with the old poll of the interrupt word; `--wasmtime-epoch` turns
//! on wasmtime's epoch interruption (its counterpart of that poll), for a
//! comparison at equal safety.
//! `--save-wasmtime DIR` writes wasmtime's compiled code for inspection;
//! `--wasmtime-perfmap` lets `perf report` name wasmtime's functions.

use clap::Parser;
use faasm_benches::kernels::{
    FaasmKernels, KERNELS, KernelSpec, NativeKernel, NativeVariant, WasmVariant,
};
use faasm_benches::timing::{Stats, geomean, measure_interleaved};
use std::hint::black_box;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "C kernels: native vs faasm-rs vs wasmtime on the same .wasm")]
struct Cli {
    /// Interleaved rounds per kernel (the best of them is reported).
    #[arg(long, default_value_t = 21)]
    reps: usize,
    /// Only these kernels (names as in the table; comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// One JSON object instead of the tables.
    #[arg(long)]
    json: bool,
    /// Compile faasm's loops with a poll of the interrupt word.
    #[arg(long)]
    poll_interrupts: bool,
    /// Turn on wasmtime's epoch interruption (a check at loop headers and
    /// function entries, as faasm's `--poll-interrupts`).
    #[arg(long)]
    wasmtime_epoch: bool,
    /// Write wasmtime's compiled modules (ELF files: `objdump -d` shows
    /// each wasm function's code, to compare with `dump_text`'s) into this
    /// directory as `wasmtime-scalar.cwasm` and `wasmtime-simd.cwasm`.
    #[arg(long)]
    save_wasmtime: Option<std::path::PathBuf>,
    /// Have wasmtime write `/tmp/perf-PID.map`, so `perf report` names its
    /// compiled functions.
    #[arg(long)]
    wasmtime_perfmap: bool,
}

/// The kernel module instantiated by wasmtime.
struct WasmtimeKernels {
    store: wasmtime::Store<()>,
    instance: wasmtime::Instance,
}

impl WasmtimeKernels {
    fn load(engine: &wasmtime::Engine, wasm: &[u8]) -> wasmtime::Result<WasmtimeKernels> {
        let module = wasmtime::Module::new(engine, wasm)?;
        let mut store = wasmtime::Store::new(engine, ());
        // With epoch interruption on, the deadline is never reached: the
        // checks run, nothing interrupts.
        store.set_epoch_deadline(u64::MAX);
        let instance = wasmtime::Instance::new(&mut store, &module, &[])?;
        Ok(WasmtimeKernels { store, instance })
    }

    fn kernel(&mut self, symbol: &str) -> wasmtime::Result<wasmtime::TypedFunc<i32, i64>> {
        self.instance.get_typed_func(&mut self.store, symbol)
    }
}

/// One kernel's timings (native, faasm, wasmtime) in one build.
struct Row {
    spec: KernelSpec,
    checksum: i64,
    stats: [Stats; 3],
}

impl Row {
    fn best_ms(&self) -> [f64; 3] {
        self.stats.map(|s| s.min.as_secs_f64() * 1e3)
    }

    fn median_ms(&self) -> [f64; 3] {
        self.stats.map(|s| s.median.as_secs_f64() * 1e3)
    }

    /// faasm/native, wasmtime/native, faasm/wasmtime of the best times.
    fn ratios(&self) -> [f64; 3] {
        let [n, f, w] = self.best_ms();
        [f / n, w / n, f / w]
    }
}

/// One wasm build against its native baseline.
struct BuildResult {
    variant: WasmVariant,
    native: NativeVariant,
    faasm_load_ms: f64,
    wasmtime_load_ms: f64,
    rows: Vec<Row>,
    /// Kernels left out, with the reason (a checksum mismatch).
    failures: Vec<String>,
}

impl BuildResult {
    fn geomeans(&self) -> [f64; 3] {
        let ratios: Vec<[f64; 3]> = self.rows.iter().map(Row::ratios).collect();
        [0, 1, 2].map(|i| geomean(&ratios.iter().map(|r| r[i]).collect::<Vec<_>>()))
    }
}

fn build_name(v: WasmVariant) -> &'static str {
    match v {
        WasmVariant::Scalar => "scalar",
        WasmVariant::Simd => "simd",
    }
}

fn native_name(v: NativeVariant) -> &'static str {
    match v {
        NativeVariant::Scalar => "clang -O2 -fno-vectorize -fno-slp-vectorize",
        NativeVariant::Vectorized => "clang -O2 (auto-vectorised, SSE2)",
    }
}

fn run_build(
    cli: &Cli,
    specs: &[KernelSpec],
    faasm_engine: &faasm_runtime::Engine,
    wasmtime_engine: &wasmtime::Engine,
    variant: WasmVariant,
) -> Result<BuildResult, String> {
    let native_variant = match variant {
        WasmVariant::Scalar => NativeVariant::Scalar,
        WasmVariant::Simd => NativeVariant::Vectorized,
    };
    let wasm = variant.wasm_bytes().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let faasm = FaasmKernels::load(faasm_engine, variant).map_err(|e| e.to_string())?;
    let faasm_load_ms = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    let mut wasmtime =
        WasmtimeKernels::load(wasmtime_engine, &wasm).map_err(|e| format!("wasmtime: {e:#}"))?;
    let wasmtime_load_ms = start.elapsed().as_secs_f64() * 1e3;
    if let Some(dir) = &cli.save_wasmtime {
        let elf = wasmtime_engine
            .precompile_module(&wasm)
            .map_err(|e| format!("wasmtime: {e:#}"))?;
        let path = dir.join(format!("wasmtime-{}.cwasm", build_name(variant)));
        std::fs::write(&path, elf).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for spec in specs {
        let native =
            NativeKernel::get_variant(spec.symbol, native_variant).map_err(|e| e.to_string())?;
        let faasm_fn = faasm.kernel(spec.symbol).map_err(|e| e.to_string())?;
        let wasmtime_fn = wasmtime
            .kernel(spec.symbol)
            .map_err(|e| format!("wasmtime: {e:#}"))?;
        let store = &mut wasmtime.store;

        // All three sides agree before anything is timed.
        let expected = native.call(spec.arg);
        let got_faasm = faasm_fn.call(spec.arg).map_err(|e| e.to_string())?;
        let got_wasmtime = wasmtime_fn
            .call(&mut *store, spec.arg)
            .map_err(|e| format!("wasmtime {}: {e:#}", spec.name))?;
        if got_faasm != expected || got_wasmtime != expected {
            failures.push(format!(
                "{}: checksum mismatch: native {expected:#x}, faasm {got_faasm:#x}, \
                 wasmtime {got_wasmtime:#x}",
                spec.name
            ));
            continue;
        }

        let arg = spec.arg;
        let mut native_run = || {
            black_box(native.call(black_box(arg)));
        };
        let mut faasm_run = || {
            black_box(faasm_fn.call(black_box(arg)).expect("faasm kernel"));
        };
        let mut wasmtime_run = || {
            black_box(
                wasmtime_fn
                    .call(&mut *store, black_box(arg))
                    .expect("wasmtime kernel"),
            );
        };
        let stats = measure_interleaved(
            cli.reps,
            &mut [&mut native_run, &mut faasm_run, &mut wasmtime_run],
        );
        if !cli.json {
            eprintln!("  {} {} done", build_name(variant), spec.name);
        }
        rows.push(Row {
            spec: *spec,
            checksum: expected,
            stats: [stats[0], stats[1], stats[2]],
        });
    }
    Ok(BuildResult {
        variant,
        native: native_variant,
        faasm_load_ms,
        wasmtime_load_ms,
        rows,
        failures,
    })
}

fn print_table(cli: &Cli, b: &BuildResult) {
    println!(
        "\n{} wasm build vs native {}; best of {} interleaved rounds",
        build_name(b.variant),
        native_name(b.native),
        cli.reps
    );
    println!(
        "(module compiled + instantiated: faasm {:.1} ms, wasmtime {:.1} ms)\n",
        b.faasm_load_ms, b.wasmtime_load_ms
    );
    println!(
        "| {:<14} | {:>9} | {:>9} | {:>11} | {:>12} | {:>15} | {:>14} |",
        "kernel",
        "native ms",
        "faasm ms",
        "wasmtime ms",
        "faasm/native",
        "wasmtime/native",
        "faasm/wasmtime"
    );
    println!(
        "|{:-<16}|{:->10}:|{:->10}:|{:->12}:|{:->13}:|{:->16}:|{:->15}:|",
        "", "", "", "", "", "", ""
    );
    for row in &b.rows {
        let [n, f, w] = row.best_ms();
        let [fn_, wn, fw] = row.ratios();
        println!(
            "| {:<14} | {n:>9.3} | {f:>9.3} | {w:>11.3} | {fn_:>11.2}x | {wn:>14.2}x | {fw:>13.2}x |",
            row.spec.name
        );
    }
    let [gf, gw, gfw] = b.geomeans();
    println!(
        "| {:<14} | {:>9} | {:>9} | {:>11} | {gf:>11.2}x | {gw:>14.2}x | {gfw:>13.2}x |",
        "**geomean**", "", "", ""
    );
    for f in &b.failures {
        println!("FAILED {f}");
    }
}

fn json(cli: &Cli, builds: &[BuildResult]) -> String {
    let mut o = format!(
        "{{\"reps\":{},\"statistic\":\"best\",\"faasm_poll_interrupts\":{},\
         \"wasmtime_epoch\":{},\"builds\":[",
        cli.reps, cli.poll_interrupts, cli.wasmtime_epoch
    );
    for (i, b) in builds.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let [gf, gw, gfw] = b.geomeans();
        o += &format!(
            "{{\"build\":\"{}\",\"native\":\"{}\",\"faasm_load_ms\":{:.3},\
             \"wasmtime_load_ms\":{:.3},\"geomean_faasm_native\":{gf:.4},\
             \"geomean_wasmtime_native\":{gw:.4},\"geomean_faasm_wasmtime\":{gfw:.4},\
             \"failures\":[{}],\"kernels\":[",
            build_name(b.variant),
            native_name(b.native),
            b.faasm_load_ms,
            b.wasmtime_load_ms,
            b.failures
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        for (j, row) in b.rows.iter().enumerate() {
            if j > 0 {
                o.push(',');
            }
            let [n, f, w] = row.best_ms();
            let [mn, mf, mw] = row.median_ms();
            let [fn_, wn, fw] = row.ratios();
            o += &format!(
                "{{\"name\":\"{}\",\"arg\":{},\"checksum\":{},\
                 \"native_ms\":{n:.4},\"faasm_ms\":{f:.4},\"wasmtime_ms\":{w:.4},\
                 \"native_median_ms\":{mn:.4},\"faasm_median_ms\":{mf:.4},\
                 \"wasmtime_median_ms\":{mw:.4},\"faasm_native\":{fn_:.4},\
                 \"wasmtime_native\":{wn:.4},\"faasm_wasmtime\":{fw:.4}}}",
                row.spec.name, row.spec.arg, row.checksum
            );
        }
        o += "]}";
    }
    o += "]}";
    o
}

fn main() {
    let cli = Cli::parse();
    let specs: Vec<KernelSpec> = KERNELS
        .iter()
        .filter(|s| cli.only.is_empty() || cli.only.iter().any(|o| o == s.name))
        .copied()
        .collect();
    if specs.is_empty() {
        let names: Vec<&str> = KERNELS.iter().map(|s| s.name).collect();
        eprintln!(
            "no kernel named {:?}; kernels: {}",
            cli.only,
            names.join(", ")
        );
        std::process::exit(2);
    }
    let faasm_engine = faasm_runtime::Engine::new(faasm_runtime::Config {
        poll_interrupts: cli.poll_interrupts,
        ..faasm_runtime::Config::default()
    });
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(cli.wasmtime_epoch);
    if cli.wasmtime_perfmap {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let wasmtime_engine = wasmtime::Engine::new(&config).expect("wasmtime engine");

    let mut builds = Vec::new();
    let mut failed = false;
    for variant in WasmVariant::ALL {
        match run_build(&cli, &specs, &faasm_engine, &wasmtime_engine, variant) {
            Ok(b) => {
                failed |= !b.failures.is_empty();
                builds.push(b);
            }
            Err(e) => {
                eprintln!("{} build: {e}", build_name(variant));
                failed = true;
            }
        }
    }
    if cli.json {
        println!("{}", json(&cli, &builds));
    } else {
        println!(
            "faasm: poll interrupts {}; wasmtime 48: Config::new(){}",
            cli.poll_interrupts,
            if cli.wasmtime_epoch {
                " + epoch_interruption"
            } else {
                ""
            }
        );
        for b in &builds {
            print_table(&cli, b);
        }
        println!("\ninputs:");
        for spec in &specs {
            println!("  {:<14} {}", spec.name, spec.what);
        }
    }
    if failed {
        std::process::exit(1);
    }
}
