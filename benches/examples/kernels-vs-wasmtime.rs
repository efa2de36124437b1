//! The compute kernels on three sides in one run: native, faasm-rs and
//! wasmtime:
//!
//! ```sh
//! cargo run --release -p faasm-benches --example kernels-vs-wasmtime \
//!     [-- --reps N --only NAME[,NAME..] --json --poll-interrupts --no-inline --wasmtime-epoch]
//! ```
//!
//! For each wasm build of the kernels (scalar, `-msimd128`) the SAME `.wasm`
//! bytes are compiled by faasm-rs (the runtime's default engine: guarded
//! memory, stopped by signal, no polls in loops) and by wasmtime 48 (a dev-dependency of this
//! crate only; `Config::new()`: Cranelift at opt level `speed`, no epoch or
//! fuel checks). The scalar build is compared with the scalar native build
//! (clang -O2 without the loop and SLP vectorisers), the SIMD build with the
//! vectorised native build.
//!
//! Two modules per build: the C kernels (`kernels/*.c`, built by build.rs)
//! and the Rust kernels `rust-json` and `rust-regex` (`guests/rust-kernels`:
//! serde_json and regex, built for wasm32-wasip1 scalar and `+simd128` and
//! natively, vectorised and with `-C no-vectorize-loops -C
//! no-vectorize-slp`, by `guests/build-rust-kernels.sh`, run here when a
//! Rust kernel is selected; a failed build is an error). The Rust module
//! imports five WASI functions: both runtimes get the same answers
//! (`faasm_benches::imports`): stubs that trap, never reached, except
//! `random_get`, called once per instance before timing (the first
//! `run_regex`, for a `HashMap`'s keys) and given zeros.
//!
//! All three sides must return the same checksum
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
use faasm_benches::imports::{self, ImportAnswer};
use faasm_benches::kernels::{
    FaasmKernels, KERNELS, KernelSpec, NativeKernel, NativeVariant, WasmVariant,
};
use faasm_benches::rust_kernels::{RUST_KERNELS, RustBuild, RustKernels};
use faasm_benches::timing::{Stats, geomean, measure_interleaved};
use std::hint::black_box;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "C and Rust kernels: native vs faasm-rs vs wasmtime on the same .wasm")]
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
    /// Compile faasm without inlining small functions into their callers
    /// (to measure what it buys).
    #[arg(long)]
    no_inline: bool,
    /// Turn on wasmtime's epoch interruption (a check at loop headers and
    /// function entries, as faasm's `--poll-interrupts`).
    #[arg(long)]
    wasmtime_epoch: bool,
    /// Write wasmtime's compiled modules (ELF files: `objdump -d` shows
    /// each wasm function's code, to compare with `dump_text`'s) into this
    /// directory as `wasmtime-scalar.cwasm` and `wasmtime-simd.cwasm` (the
    /// Rust kernels: `wasmtime-rust-scalar.cwasm`, `wasmtime-rust-simd.cwasm`).
    #[arg(long)]
    save_wasmtime: Option<std::path::PathBuf>,
    /// Have wasmtime write `/tmp/perf-PID.map`, so `perf report` names its
    /// compiled functions.
    #[arg(long)]
    wasmtime_perfmap: bool,
}

/// A kernel module instantiated by wasmtime, its function imports answered
/// as `faasm_benches::imports` says (as on the faasm side).
struct WasmtimeKernels {
    store: wasmtime::Store<()>,
    instance: wasmtime::Instance,
}

impl WasmtimeKernels {
    fn load(engine: &wasmtime::Engine, wasm: &[u8]) -> wasmtime::Result<WasmtimeKernels> {
        let module = wasmtime::Module::new(engine, wasm)?;
        let mut linker = wasmtime::Linker::new(engine);
        for import in module.imports() {
            let (m, name) = (import.module(), import.name());
            let wasmtime::ExternType::Func(ty) = import.ty() else {
                wasmtime::bail!("kernel module imports `{m}`.`{name}`, not a function");
            };
            match imports::answer(m, name) {
                ImportAnswer::ZeroRandom => {
                    linker.func_new(m, name, ty, |mut caller, args, results| {
                        let Some(wasmtime::Extern::Memory(memory)) = caller.get_export("memory")
                        else {
                            wasmtime::bail!("random_get: no memory");
                        };
                        let (Some(buf), Some(len)) = (args[0].i32(), args[1].i32()) else {
                            wasmtime::bail!("random_get: wrong arguments");
                        };
                        let errno =
                            imports::fill_zero_random(memory.data_mut(&mut caller), buf, len);
                        results[0] = wasmtime::Val::I32(errno);
                        Ok(())
                    })?;
                }
                ImportAnswer::Trap => {
                    let message = imports::trap_message(m, name);
                    linker.func_new(m, name, ty, move |_, _, _| {
                        Err(wasmtime::Error::msg(message.clone()))
                    })?;
                }
            }
        }
        let mut store = wasmtime::Store::new(engine, ());
        // With epoch interruption on, the deadline is never reached: the
        // checks run, nothing interrupts.
        store.set_epoch_deadline(u64::MAX);
        let instance = linker.instantiate(&mut store, &module)?;
        Ok(WasmtimeKernels { store, instance })
    }

    fn kernel(&mut self, symbol: &str) -> wasmtime::Result<wasmtime::TypedFunc<i32, i64>> {
        self.instance.get_typed_func(&mut self.store, symbol)
    }
}

/// Which source a kernel module is built from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `kernels/*.c` (build.rs).
    C,
    /// `guests/rust-kernels` (`guests/build-rust-kernels.sh`).
    Rust,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::C => "C",
            Source::Rust => "Rust",
        }
    }

    /// Every kernel the module exports.
    fn kernels(self) -> &'static [KernelSpec] {
        match self {
            Source::C => KERNELS,
            Source::Rust => RUST_KERNELS,
        }
    }

    /// The native baseline of a wasm build.
    fn native_name(self, v: NativeVariant) -> &'static str {
        match (self, v) {
            (Source::C, NativeVariant::Scalar) => "clang -O2 -fno-vectorize -fno-slp-vectorize",
            (Source::C, NativeVariant::Vectorized) => "clang -O2 (auto-vectorised, SSE2)",
            (Source::Rust, NativeVariant::Scalar) => {
                "rustc -O3 -C no-vectorize-loops -C no-vectorize-slp"
            }
            (Source::Rust, NativeVariant::Vectorized) => "rustc -O3 (auto-vectorised, SSE2)",
        }
    }

    /// Where `--save-wasmtime` writes this module's compiled code.
    fn cwasm_name(self, v: WasmVariant) -> String {
        match self {
            Source::C => format!("wasmtime-{}.cwasm", build_name(v)),
            Source::Rust => format!("wasmtime-rust-{}.cwasm", build_name(v)),
        }
    }
}

/// One wasm build of a kernel module, and the selected kernels with their
/// native builds.
struct KernelModule {
    source: Source,
    wasm: Vec<u8>,
    kernels: Vec<(KernelSpec, NativeKernel)>,
}

impl KernelModule {
    /// The module of `source` in build `variant`, with the kernels of
    /// `specs` it exports (`None` when it exports none of them); `rust`
    /// is needed when some are Rust kernels.
    fn load(
        source: Source,
        specs: &[KernelSpec],
        rust: Option<&RustKernels>,
        variant: WasmVariant,
    ) -> Result<Option<KernelModule>, String> {
        let selected: Vec<KernelSpec> = specs
            .iter()
            .filter(|s| source.kernels().iter().any(|k| k.name == s.name))
            .copied()
            .collect();
        if selected.is_empty() {
            return Ok(None);
        }
        let native_variant = native_variant(variant);
        let (wasm, natives): (_, Result<Vec<NativeKernel>, _>) = match source {
            Source::C => (
                variant.wasm_bytes(),
                selected
                    .iter()
                    .map(|s| NativeKernel::get_variant(s.symbol, native_variant))
                    .collect(),
            ),
            Source::Rust => {
                let rust = rust.ok_or("the Rust kernels were not built")?;
                (
                    rust.wasm_bytes(variant),
                    selected
                        .iter()
                        .map(|s| rust.native(s.symbol, native_variant))
                        .collect(),
                )
            }
        };
        let wasm = wasm.map_err(|e| e.to_string())?;
        let natives = natives.map_err(|e| e.to_string())?;
        let kernels = selected.into_iter().zip(natives).collect();
        Ok(Some(KernelModule {
            source,
            wasm,
            kernels,
        }))
    }
}

/// How long one module took to compile and instantiate.
struct ModuleLoad {
    source: Source,
    faasm_ms: f64,
    wasmtime_ms: f64,
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
    loads: Vec<ModuleLoad>,
    rows: Vec<Row>,
    /// Kernels left out, with the reason (a checksum mismatch).
    failures: Vec<String>,
}

impl BuildResult {
    fn geomeans(&self) -> [f64; 3] {
        let ratios: Vec<[f64; 3]> = self.rows.iter().map(Row::ratios).collect();
        [0, 1, 2].map(|i| geomean(&ratios.iter().map(|r| r[i]).collect::<Vec<_>>()))
    }

    /// The native baselines of the modules in this build.
    fn native_names(&self) -> String {
        self.loads
            .iter()
            .map(|l| format!("{} {}", l.source.name(), l.source.native_name(self.native)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn build_name(v: WasmVariant) -> &'static str {
    match v {
        WasmVariant::Scalar => "scalar",
        WasmVariant::Simd => "simd",
    }
}

fn native_variant(v: WasmVariant) -> NativeVariant {
    match v {
        WasmVariant::Scalar => NativeVariant::Scalar,
        WasmVariant::Simd => NativeVariant::Vectorized,
    }
}

fn run_build(
    cli: &Cli,
    modules: &[KernelModule],
    faasm_engine: &faasm_runtime::Engine,
    wasmtime_engine: &wasmtime::Engine,
    variant: WasmVariant,
) -> Result<BuildResult, String> {
    let mut build = BuildResult {
        variant,
        native: native_variant(variant),
        loads: Vec::new(),
        rows: Vec::new(),
        failures: Vec::new(),
    };
    for module in modules {
        run_module(cli, module, faasm_engine, wasmtime_engine, &mut build)?;
    }
    Ok(build)
}

/// Loads `module` on both runtimes, checks and times its kernels, adding
/// them to `build`.
fn run_module(
    cli: &Cli,
    module: &KernelModule,
    faasm_engine: &faasm_runtime::Engine,
    wasmtime_engine: &wasmtime::Engine,
    build: &mut BuildResult,
) -> Result<(), String> {
    let (variant, wasm) = (build.variant, &module.wasm);
    let start = Instant::now();
    let faasm = FaasmKernels::from_wasm(faasm_engine, variant, wasm).map_err(|e| e.to_string())?;
    let faasm_ms = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    let mut wasmtime =
        WasmtimeKernels::load(wasmtime_engine, wasm).map_err(|e| format!("wasmtime: {e:#}"))?;
    let wasmtime_ms = start.elapsed().as_secs_f64() * 1e3;
    build.loads.push(ModuleLoad {
        source: module.source,
        faasm_ms,
        wasmtime_ms,
    });
    if let Some(dir) = &cli.save_wasmtime {
        let elf = wasmtime_engine
            .precompile_module(wasm)
            .map_err(|e| format!("wasmtime: {e:#}"))?;
        let path = dir.join(module.source.cwasm_name(variant));
        std::fs::write(&path, elf).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }

    for (spec, native) in &module.kernels {
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
            build.failures.push(format!(
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
        build.rows.push(Row {
            spec: *spec,
            checksum: expected,
            stats: [stats[0], stats[1], stats[2]],
        });
    }
    Ok(())
}

fn print_table(cli: &Cli, b: &BuildResult) {
    println!(
        "\n{} wasm build vs native {}; best of {} interleaved rounds",
        build_name(b.variant),
        b.native_names(),
        cli.reps
    );
    let loads: Vec<String> = b
        .loads
        .iter()
        .map(|l| {
            format!(
                "{} kernels: faasm {:.1} ms, wasmtime {:.1} ms",
                l.source.name(),
                l.faasm_ms,
                l.wasmtime_ms
            )
        })
        .collect();
    println!("(module compiled + instantiated: {})\n", loads.join("; "));
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
        let modules: Vec<String> = b
            .loads
            .iter()
            .map(|l| {
                format!(
                    "{{\"source\":\"{}\",\"native\":\"{}\",\"faasm_load_ms\":{:.3},\
                     \"wasmtime_load_ms\":{:.3}}}",
                    l.source.name(),
                    l.source.native_name(b.native),
                    l.faasm_ms,
                    l.wasmtime_ms
                )
            })
            .collect();
        o += &format!(
            "{{\"build\":\"{}\",\"modules\":[{}],\"geomean_faasm_native\":{gf:.4},\
             \"geomean_wasmtime_native\":{gw:.4},\"geomean_faasm_wasmtime\":{gfw:.4},\
             \"failures\":[{}],\"kernels\":[",
            build_name(b.variant),
            modules.join(","),
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
    let all = || KERNELS.iter().chain(RUST_KERNELS);
    let specs: Vec<KernelSpec> = all()
        .filter(|s| cli.only.is_empty() || cli.only.iter().any(|o| o == s.name))
        .copied()
        .collect();
    if specs.is_empty() {
        let names: Vec<&str> = all().map(|s| s.name).collect();
        eprintln!(
            "no kernel named {:?}; kernels: {}",
            cli.only,
            names.join(", ")
        );
        std::process::exit(2);
    }
    // The Rust kernels are built (or found up to date) when one is
    // selected; a failed build ends the run.
    let rust = if specs
        .iter()
        .any(|s| RUST_KERNELS.iter().any(|r| r.name == s.name))
    {
        if !cli.json {
            eprintln!("building the Rust kernels (guests/build-rust-kernels.sh)");
        }
        match RustKernels::build(&RustBuild::ALL) {
            Ok(rust) => Some(rust),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    } else {
        None
    };
    let faasm_engine = faasm_runtime::Engine::new(faasm_runtime::Config {
        poll_interrupts: cli.poll_interrupts,
        inline: !cli.no_inline,
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
        let result = [Source::C, Source::Rust]
            .into_iter()
            .filter_map(|source| {
                KernelModule::load(source, &specs, rust.as_ref(), variant).transpose()
            })
            .collect::<Result<Vec<_>, String>>()
            .and_then(|modules| {
                run_build(&cli, &modules, &faasm_engine, &wasmtime_engine, variant)
            });
        match result {
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
