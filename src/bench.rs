//! `faasm-run bench cold-start FILE [--init NAME] [--call NAME]
//! [--instances N] [--max-live N] [--json]`: what a cold start costs with
//! and without the function's Proto-Faaslet, side by side in one run.
//!
//! - `fresh_call_us`: instantiate, run the initialisation (`--init`, else
//!   the snapshot's init exports), call `--call`, drop; median.
//! - `restore_call_us`: restore from the snapshot, call, drop; median.
//! - `reuse_call_us`: reset a restored Faaslet and call it again; median.
//! - `rss_per_faaslet_kib` / `pss_per_faaslet_kib`: growth of the process's
//!   RSS / PSS (`/proc/self/smaps_rollup`) per live restored Faaslet, with
//!   `--instances` of them alive, each called once.
//! - `max_live_faaslets`: restored Faaslets kept alive until the next one
//!   cannot be made (or `--max-live`), and the memory mappings each costs.
//! - `starts_per_s_1t` / `_2t`: restore + call + drop per second on one and
//!   two threads; `reuses_per_s_1t` / `_2t`: reset + call of a kept
//!   Faaslet per second (the executor's warm path).
//!
//! Only WASI and the Faasm calls are linked, with an empty context: the
//! module should be one that runs without input.
//!
//! `faasm-run bench sgd` (the SGD demo's modes side by side) lives with the
//! demo, in `crate::demo::bench`.

use clap::Parser;
use faasm_hostif::HostCtx;
use faasm_hostif::wasi::{self, WasiCtx};
use faasm_runtime::{Config, Engine, Error, Instance, InstanceOptions, Linker, Module, Snapshot};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    name = "faasm-run bench",
    about = "Cold-start figures of a module; the SGD demo's modes side by side"
)]
struct BenchCli {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Restore-from-snapshot vs fresh instantiation, density, starts/s.
    ColdStart(ColdStart),
    /// The SGD demo, shared vs copied state, at several worker counts.
    Sgd(crate::demo::bench::SgdBench),
}

#[derive(Debug, clap::Args)]
struct ColdStart {
    file: PathBuf,
    /// Export run before the snapshot (default: `_initialize` and
    /// `faasm_init`, where present).
    #[arg(long)]
    init: Option<String>,
    /// Export timed after each start (`() -> ...`); default: none.
    #[arg(long)]
    call: Option<String>,
    /// Live Faaslets for the memory figures.
    #[arg(long, default_value_t = 1000)]
    instances: usize,
    /// Stop counting live Faaslets here.
    #[arg(long, default_value_t = 40_000)]
    max_live: usize,
    /// Explicit bounds checks (reservation = the module's maximum)
    /// instead of guard pages.
    #[arg(long)]
    explicit_bounds: bool,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `faasm-run bench ...` (`args[0]` is the program, `args[1]` "bench").
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = BenchCli::parse_from(
        std::iter::once("faasm-run bench".into()).chain(args.into_iter().skip(2)),
    );
    let args = match cli.what {
        What::Sgd(args) => return crate::demo::bench::main(&args),
        What::ColdStart(args) => args,
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faasm-run: error: {e}");
            ExitCode::from(1)
        }
    }
}

struct Setup {
    linker: Linker,
    module: Module,
    init: Option<String>,
    call: Option<String>,
}

impl Setup {
    fn data() -> Result<Arc<HostCtx>, Error> {
        let wasi = WasiCtx::builder()
            .build()
            .map_err(|e| Error::Usage(format!("WASI context: {e}")))?;
        Ok(Arc::new(HostCtx { wasi, faasm: None }))
    }

    fn opts() -> Result<InstanceOptions, Error> {
        Ok(InstanceOptions {
            data: Some(Setup::data()?),
            ..InstanceOptions::default()
        })
    }

    fn initialise(&self, i: &Instance) -> Result<(), Error> {
        match &self.init {
            Some(name) => export(i, name)?.call(&[]).map(drop),
            None => faasm_snapshot::run_init(i),
        }
    }

    fn call(&self, i: &Instance) -> Result<(), Error> {
        match &self.call {
            Some(name) => export(i, name)?.call(&[]).map(drop),
            None => Ok(()),
        }
    }

    fn fresh(&self) -> Result<Instance, Error> {
        let i = self.linker.instantiate_opts(&self.module, Setup::opts()?)?;
        self.initialise(&i)?;
        self.call(&i)?;
        Ok(i)
    }

    fn restore(&self, s: &Snapshot) -> Result<Instance, Error> {
        let i = self.linker.instantiate_snapshot(s, Setup::opts()?)?;
        self.call(&i)?;
        Ok(i)
    }
}

fn export(i: &Instance, name: &str) -> Result<faasm_runtime::Func, Error> {
    i.get_func(name)
        .ok_or_else(|| Error::Usage(format!("module has no exported function `{name}`")))
}

/// Median of `n` timings of `f`, in microseconds.
fn median_us(n: usize, mut f: impl FnMut() -> Result<(), Error>) -> Result<f64, Error> {
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64() * 1e6);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[n / 2])
}

/// `(Rss, Pss)` of this process in KiB.
fn rss_pss_kib() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |m| m.lines().count())
}

/// Operations per second over half a second on `threads` threads: each
/// thread makes its state with `setup` once, then repeats `op` on it until
/// the window ends or `op` fails.
fn per_second<S>(
    threads: usize,
    setup: impl Fn() -> Option<S> + Sync,
    op: impl Fn(&mut S) -> bool + Sync,
) -> f64 {
    let window = Duration::from_millis(500);
    let counts: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let Some(mut state) = setup() else {
                        return 0;
                    };
                    let end = Instant::now() + window;
                    let mut n = 0u64;
                    while Instant::now() < end && op(&mut state) {
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    counts.iter().sum::<u64>() as f64 / window.as_secs_f64()
}

/// Restore + call + drop per second (a cold start from the snapshot).
fn starts_per_s(setup: &Setup, snap: &Snapshot, threads: usize) -> f64 {
    per_second(threads, || Some(()), |_| setup.restore(snap).is_ok())
}

/// Reset + call per second, each thread reusing its own restored Faaslet
/// (the executor's path for a warm function).
fn reuses_per_s(setup: &Setup, snap: &Snapshot, threads: usize) -> f64 {
    per_second(
        threads,
        || setup.restore(snap).ok(),
        |i| i.reset(snap).is_ok() && setup.call(i).is_ok(),
    )
}

fn run(args: ColdStart) -> Result<(), Error> {
    let ColdStart {
        file,
        init,
        call,
        instances,
        max_live,
        explicit_bounds,
        json,
    } = args;
    let mut config = Config::default();
    if explicit_bounds {
        config.memory_strategy = faasm_runtime::MemoryStrategy::Explicit;
    }
    let engine = Engine::new(config);
    let module = crate::run::load_file(&engine, &file).map_err(|e| Error::Usage(e.to_string()))?;
    let mut linker = Linker::new(&engine);
    wasi::add_to_linker_shared(&mut linker);
    faasm_hostif::faasm::add_to_linker_shared(&mut linker);
    let setup = Setup {
        linker,
        module,
        init,
        call,
    };
    let proto = setup
        .linker
        .instantiate_opts(&setup.module, Setup::opts()?)?;
    setup.initialise(&proto)?;
    let snap = Snapshot::capture(&proto)?;
    drop(proto);

    // Warm up both paths (pools, page cache), then time them interleaved.
    for _ in 0..20 {
        drop(setup.fresh()?);
        drop(setup.restore(&snap)?);
    }
    let rounds = 200;
    let fresh_us = median_us(rounds, || setup.fresh().map(drop))?;
    let restore_us = median_us(rounds, || setup.restore(&snap).map(drop))?;
    let mut reused = setup.restore(&snap)?;
    let reuse_us = median_us(rounds, || {
        reused.reset(&snap)?;
        setup.call(&reused)
    })?;
    drop(reused);

    let (rss0, pss0) = rss_pss_kib();
    let maps0 = map_count();
    let mut live = Vec::with_capacity(instances);
    for _ in 0..instances {
        live.push(setup.restore(&snap)?);
    }
    let (rss1, pss1) = rss_pss_kib();
    let maps_per = (map_count().saturating_sub(maps0)) as f64 / instances.max(1) as f64;
    let per = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / instances.max(1) as f64;
    let (rss_per, pss_per) = (per(rss0, rss1), per(pss0, pss1));
    let mut limit = String::from("--max-live reached");
    while live.len() < max_live {
        match setup.restore(&snap) {
            Ok(i) => live.push(i),
            Err(e) => {
                limit = e.to_string();
                break;
            }
        }
    }
    let max_live_n = live.len();
    drop(live);

    let s1 = starts_per_s(&setup, &snap, 1);
    let s2 = starts_per_s(&setup, &snap, 2);
    let r1 = reuses_per_s(&setup, &snap, 1);
    let r2 = reuses_per_s(&setup, &snap, 2);

    if json {
        println!(
            "{{\"fresh_call_us\":{fresh_us:.2},\"restore_call_us\":{restore_us:.2},\
             \"reuse_call_us\":{reuse_us:.2},\"rss_per_faaslet_kib\":{rss_per:.1},\
             \"pss_per_faaslet_kib\":{pss_per:.1},\"instances\":{instances},\
             \"maps_per_faaslet\":{maps_per:.2},\"max_live_faaslets\":{max_live_n},\
             \"starts_per_s_1t\":{s1:.0},\"starts_per_s_2t\":{s2:.0},\
             \"reuses_per_s_1t\":{r1:.0},\"reuses_per_s_2t\":{r2:.0}}}"
        );
    } else {
        println!("fresh instantiate + init + call   {fresh_us:>10.2} us (median)");
        println!("restore + call                    {restore_us:>10.2} us (median)");
        println!("reset + call (reused Faaslet)     {reuse_us:>10.2} us (median)");
        println!("RSS per live Faaslet              {rss_per:>10.1} KiB ({instances} live)");
        println!("PSS per live Faaslet              {pss_per:>10.1} KiB");
        println!("memory mappings per Faaslet       {maps_per:>10.2}");
        println!("max live Faaslets                 {max_live_n:>10} ({limit})");
        println!("starts/s, 1 thread                {s1:>10.0}");
        println!(
            "starts/s, 2 threads               {s2:>10.0} ({:.2}x)",
            s2 / s1.max(1.0)
        );
        println!("reused calls/s, 1 thread          {r1:>10.0}");
        println!(
            "reused calls/s, 2 threads         {r2:>10.0} ({:.2}x)",
            r2 / r1.max(1.0)
        );
    }
    Ok(())
}
