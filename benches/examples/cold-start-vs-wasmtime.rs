//! Issue 7's cold-start benchmark against wasmtime, in one run:
//!
//! ```sh
//! cargo run --release -p faasm-benches --example cold-start-vs-wasmtime [-- --json]
//! ```
//!
//! On the issue's module (8 MiB memory, 1 MiB data segment, `init`
//! dirtying 4 MiB; `cold-start/make-module.py`, or the same generator in
//! `faasm_benches::cold_start`), it times five ways to start an instance and
//! call its no-op export, interleaved round by round so load from elsewhere
//! hits every side alike:
//!
//! - faasm restore: a Faaslet restored from the Proto-Faaslet (taken after
//!   `init`), `noop` called, dropped;
//! - faasm fresh: instantiated without snapshot, `init`, `noop`, dropped;
//! - faasm reuse: a kept Faaslet reset to the snapshot, `noop` called;
//! - wasmtime pooling: wasmtime 48 with `InstanceAllocationStrategy::Pooling`
//!   and copy-on-write memory images, a new store, instantiate, `noop`,
//!   dropped (no `init`: wasmtime has no snapshot of the initialised state;
//!   `wasmtime pooling + init` is the price of getting it);
//! - wasmtime on-demand: the same with wasmtime's default allocator.
//!
//! Then the PSS and RSS per idle instance with 1,000 and 10,000 live, the
//! most live instances one process holds (capped), and starts per second
//! on 1 and 2 threads. `--module FILE` times another module (`.wat` or
//! `.wasm` exporting `init` and `noop`, importing nothing).

use clap::Parser;
use faasm_benches::cold_start::{
    FaasmSide, cold_start_wasm, map_count, max_map_count, median, per_second, rss_pss_kib,
};
use std::time::{Duration, Instant};

#[path = "../cold-start/wasmtime_side.rs"]
mod wasmtime_side;
use wasmtime_side::WasmtimeSide;

#[derive(Parser)]
#[command(about = "Cold starts: faasm-rs against wasmtime on the same module")]
struct Cli {
    /// A module to use instead of the issue's (`.wat` or `.wasm`).
    #[arg(long)]
    module: Option<std::path::PathBuf>,
    /// Interleaved rounds (each side timed `--batch` times per round).
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Live instances for the memory figures.
    #[arg(long, value_delimiter = ',', default_values_t = [1000, 10_000])]
    instances: Vec<usize>,
    /// Stop counting live instances here (faasm and wasmtime on-demand).
    #[arg(long, default_value_t = 40_000)]
    max_live: usize,
    /// Slots of the wasmtime pool used for the live count: each reserves
    /// 4 GiB plus guards of the 128 TiB address space.
    #[arg(long, default_value_t = 24_000)]
    pool_slots: u32,
    /// Skip the live-count part (it takes the longest).
    #[arg(long)]
    no_max_live: bool,
    /// Window of one starts-per-second measurement, and rounds of them.
    #[arg(long, default_value_t = 300)]
    window_ms: u64,
    #[arg(long, default_value_t = 5)]
    rate_rounds: usize,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Internal: measure one memory figure in this (child) process and
    /// print it: `SIDE:N` (per-live) or `SIDE:max:CAP`.
    #[arg(long, hide = true)]
    child: Option<String>,
}

type Res<T> = Result<T, String>;

fn main() {
    let cli = Cli::parse();
    if let Some(what) = cli.child.clone() {
        if let Err(e) = child(&cli, &what) {
            eprintln!("cold-start-vs-wasmtime: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = run(cli) {
        eprintln!("cold-start-vs-wasmtime: {e}");
        std::process::exit(1);
    }
}

fn wasm_of(cli: &Cli) -> Res<Vec<u8>> {
    let Some(path) = &cli.module else {
        return Ok(cold_start_wasm());
    };
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "wat") {
        let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
        faasm_benches::wat_to_wasm(&text).map_err(|e| e.to_string())
    } else {
        Ok(bytes)
    }
}

/// Runs this program again with `--child what`; its one output line is
/// `a b c` (per-live: RSS KiB, PSS KiB, 0; max-live: count, mappings
/// each, and why it stopped after the second number).
fn in_child(cli: &Cli, what: &str) -> Res<(f64, f64, String)> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--child").arg(what);
    if let Some(m) = &cli.module {
        cmd.arg("--module").arg(m);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim().splitn(3, ' ');
    let mut num = || parts.next().and_then(|v| v.parse::<f64>().ok());
    match (num(), num()) {
        (Some(a), Some(b)) => Ok((a, b, parts.next().unwrap_or("").to_string())),
        _ => Err(format!(
            "child {what} failed: {}{}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// The `--child` side of [`in_child`].
fn child(cli: &Cli, what: &str) -> Res<()> {
    let wasm = wasm_of(cli)?;
    let wt_err = |e: wasmtime::Error| format!("wasmtime: {e:#}");
    let mut it = what.split(':');
    let side = it.next().unwrap_or("");
    let (max, n) = match (it.next(), it.next()) {
        (Some("max"), Some(cap)) => (true, cap.parse::<usize>().map_err(|e| e.to_string())?),
        (Some(n), None) => (false, n.parse::<usize>().map_err(|e| e.to_string())?),
        _ => return Err(format!("bad --child {what}")),
    };
    let engine = faasm_benches::default_engine();
    let line = match side {
        "faasm" => {
            let faasm = FaasmSide::new(&engine, &wasm).map_err(|e| e.to_string())?;
            if max {
                max_live(n, || faasm.restore())
            } else {
                per_live(n, || faasm.restore().map_err(|e| e.to_string()))?
            }
        }
        "pooling" if max => {
            // The pool reserves all its slots at once, 4 GiB plus guards
            // each: where the largest free stretch of the address space
            // cannot hold that many, fewer slots are tried (a quarter less
            // each time), and the result says how many could be reserved.
            let mut slots = n.max(64);
            let pool = loop {
                match WasmtimeSide::pooling(&wasm, slots as u32) {
                    Ok(pool) => break pool,
                    Err(e) if slots > 64 && format!("{e:#}").contains("mmap failed") => {
                        slots = (slots * 3 / 4).max(64);
                    }
                    Err(e) => return Err(wt_err(e)),
                }
            };
            let (count, maps, why) = max_live(slots, || pool.start());
            let why = if slots < n {
                format!("{why} (a pool of {n} slots could not be reserved; {slots} could)")
            } else {
                why
            };
            (count, maps, why)
        }
        "pooling" => {
            let pool = WasmtimeSide::pooling(&wasm, n.max(64) as u32).map_err(wt_err)?;
            per_live(n, || pool.start().map_err(wt_err))?
        }
        "on-demand" => {
            let d = WasmtimeSide::on_demand(&wasm).map_err(wt_err)?;
            if max {
                max_live(n, || d.start())
            } else {
                per_live(n, || d.start().map_err(wt_err))?
            }
        }
        _ => return Err(format!("bad side in --child {what}")),
    };
    println!("{} {} {}", line.0, line.1, line.2);
    Ok(())
}

/// Per-instance (RSS, PSS) in KiB with `n` made by `make` kept alive.
fn per_live<T>(n: usize, mut make: impl FnMut() -> Res<T>) -> Res<(f64, f64, String)> {
    let (r0, p0) = rss_pss_kib();
    let mut live = Vec::with_capacity(n);
    for _ in 0..n {
        live.push(make()?);
    }
    let (r1, p1) = rss_pss_kib();
    drop(live);
    let per = |a: u64, b: u64| b.saturating_sub(a) as f64 / n.max(1) as f64;
    Ok((per(r0, r1), per(p0, p1), String::new()))
}

/// Instances made by `make` kept alive until one fails or `cap`: the
/// count, mappings per instance, and why it stopped.
fn max_live<T, E: std::fmt::Display>(
    cap: usize,
    mut make: impl FnMut() -> Result<T, E>,
) -> (f64, f64, String) {
    let maps0 = map_count();
    let mut live = Vec::new();
    let mut why = format!("cap of {cap} reached");
    while live.len() < cap {
        match make() {
            Ok(i) => live.push(i),
            Err(e) => {
                why = format!("{e:#}");
                break;
            }
        }
    }
    let maps = map_count().saturating_sub(maps0) as f64 / live.len().max(1) as f64;
    (live.len() as f64, maps, why.replace('\n', " "))
}

fn run(cli: Cli) -> Res<()> {
    let wasm = wasm_of(&cli)?;
    let engine = faasm_benches::default_engine();
    let faasm = FaasmSide::new(&engine, &wasm).map_err(|e| format!("faasm: {e}"))?;
    let wt_err = |e: wasmtime::Error| format!("wasmtime: {e:#}");
    let pooling = WasmtimeSide::pooling(&wasm, 64).map_err(wt_err)?;
    let on_demand = WasmtimeSide::on_demand(&wasm).map_err(wt_err)?;

    // The five sides (plus wasmtime with init), each an operation timed
    // alone; `reused` is faasm's kept Faaslet.
    let mut reused = faasm.restore().map_err(|e| e.to_string())?;
    let names = [
        "faasm restore + call",
        "faasm fresh + init + call",
        "faasm reset + call (reuse)",
        "wasmtime pooling+CoW + call",
        "wasmtime on-demand + call",
        "wasmtime pooling+CoW + init + call",
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut one = |side: usize| -> Res<f64> {
        let t = Instant::now();
        match side {
            0 => drop(faasm.restore().map_err(|e| e.to_string())?),
            1 => drop(faasm.fresh().map_err(|e| e.to_string())?),
            2 => faasm.reuse(&mut reused).map_err(|e| e.to_string())?,
            3 => drop(pooling.start().map_err(wt_err)?),
            4 => drop(on_demand.start().map_err(wt_err)?),
            _ => drop(pooling.start_init().map_err(wt_err)?),
        }
        Ok(t.elapsed().as_secs_f64() * 1e6)
    };
    for side in 0..names.len() {
        for _ in 0..20 {
            one(side)?;
        }
    }
    for round in 0..cli.rounds {
        for k in 0..names.len() {
            // Rotate the order so no side always follows the same one.
            let side = (k + round) % names.len();
            // The fresh and init paths are slow (they copy 4 MiB): fewer.
            let n = if side == 1 || side == 5 {
                (cli.batch / 10).max(1)
            } else {
                cli.batch
            };
            for _ in 0..n {
                let us = one(side)?;
                samples[side].push(us);
            }
        }
    }
    drop(reused);
    let med: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();

    // Memory per idle instance, each figure in a process of its own (so
    // no side reuses heap another side freed, and address space suffices).
    let mut mem = Vec::new();
    for &n in &cli.instances {
        let f = in_child(&cli, &format!("faasm:{n}"))?;
        let w = in_child(&cli, &format!("pooling:{n}"))?;
        let d = in_child(&cli, &format!("on-demand:{n}"))?;
        mem.push((n, f, w, d));
    }

    // Starts per second, 1 and 2 threads, interleaved rounds.
    let window = Duration::from_millis(cli.window_ms);
    let rate_names = [
        "faasm restore + call + drop",
        "faasm reset + call (reuse)",
        "wasmtime pooling+CoW + call + drop",
    ];
    let mut rates: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()]; rate_names.len()];
    for _ in 0..cli.rate_rounds {
        for (side, r) in rates.iter_mut().enumerate() {
            for (ti, threads) in [1usize, 2].into_iter().enumerate() {
                let v = match side {
                    0 => per_second(threads, window, || Some(()), |_| faasm.restore().is_ok()),
                    1 => per_second(
                        threads,
                        window,
                        || faasm.restore().ok(),
                        |i| faasm.reuse(i).is_ok(),
                    ),
                    _ => per_second(threads, window, || Some(()), |_| pooling.start().is_ok()),
                };
                r[ti].push(v);
            }
        }
    }
    let rate: Vec<(f64, f64)> = rates
        .iter_mut()
        .map(|[a, b]| (median(a), median(b)))
        .collect();
    drop(pooling);
    drop(on_demand);

    // The most live instances, each in a process of its own.
    let live = if cli.no_max_live {
        None
    } else {
        let f = in_child(&cli, &format!("faasm:max:{}", cli.max_live))?;
        let w = in_child(&cli, &format!("pooling:max:{}", cli.pool_slots))?;
        let d = in_child(&cli, &format!("on-demand:max:{}", cli.max_live))?;
        Some((f, w, d))
    };

    if cli.json {
        let mut o = String::from("{");
        let keys = [
            "faasm_restore_call_us",
            "faasm_fresh_call_us",
            "faasm_reuse_call_us",
            "wasmtime_pooling_call_us",
            "wasmtime_ondemand_call_us",
            "wasmtime_pooling_init_call_us",
        ];
        for (k, m) in keys.iter().zip(&med) {
            o += &format!("\"{k}\":{m:.3},");
        }
        o += &format!(
            "\"ratio_restore_vs_pooling\":{:.3},\"ratio_reuse_vs_pooling\":{:.3},",
            med[0] / med[3],
            med[2] / med[3]
        );
        for (n, f, w, d) in &mem {
            o += &format!(
                "\"faasm_pss_kib_{n}\":{:.2},\"faasm_rss_kib_{n}\":{:.2},\
                 \"wasmtime_pooling_pss_kib_{n}\":{:.2},\"wasmtime_pooling_rss_kib_{n}\":{:.2},\
                 \"wasmtime_ondemand_pss_kib_{n}\":{:.2},\"wasmtime_ondemand_rss_kib_{n}\":{:.2},",
                f.1, f.0, w.1, w.0, d.1, d.0
            );
        }
        let rkeys = ["faasm_restore", "faasm_reuse", "wasmtime_pooling"];
        for (k, (a, b)) in rkeys.iter().zip(&rate) {
            o += &format!(
                "\"{k}_per_s_1t\":{a:.0},\"{k}_per_s_2t\":{b:.0},\"{k}_2t_over_1t\":{:.3},",
                b / a
            );
        }
        if let Some((f, w, d)) = &live {
            o += &format!(
                "\"faasm_max_live\":{},\"faasm_maps_per_instance\":{:.2},\
                 \"wasmtime_pooling_max_live\":{},\"wasmtime_pooling_maps_per_instance\":{:.2},\
                 \"wasmtime_ondemand_max_live\":{},\"wasmtime_ondemand_maps_per_instance\":{:.2},",
                f.0, f.1, w.0, w.1, d.0, d.1
            );
        }
        o += &format!("\"max_map_count\":{}}}", max_map_count().unwrap_or(0));
        println!("{o}");
        return Ok(());
    }

    println!(
        "cold start + no-op call, medians of {} interleaved rounds:",
        cli.rounds
    );
    for (name, m) in names.iter().zip(&med) {
        println!("  {name:<36} {m:>10.2} us");
    }
    println!(
        "  faasm/wasmtime pooling+CoW: restore {:.2}x, reuse {:.2}x, fresh+init vs pooling+init {:.2}x",
        med[0] / med[3],
        med[2] / med[3],
        med[1] / med[5]
    );
    println!("memory per idle instance (KiB, RSS / PSS):");
    for (n, f, w, d) in &mem {
        println!(
            "  {n:>6} live: faasm {:.1} / {:.1}, wasmtime pooling {:.1} / {:.1}, on-demand {:.1} / {:.1}",
            f.0, f.1, w.0, w.1, d.0, d.1
        );
    }
    println!(
        "starts per second ({} rounds of {} ms, medians):",
        cli.rate_rounds, cli.window_ms
    );
    for (name, (a, b)) in rate_names.iter().zip(&rate) {
        println!("  {name:<36} 1t {a:>10.0}  2t {b:>10.0}  ({:.2}x)", b / a);
    }
    if let Some((f, w, d)) = live {
        println!(
            "most live instances (vm.max_map_count = {}):",
            max_map_count().unwrap_or(0)
        );
        for (name, (n, maps, why)) in [
            ("faasm (guarded)", f),
            ("wasmtime pooling+CoW", w),
            ("wasmtime on-demand", d),
        ] {
            println!("  {name:<22} {n:>7} ({maps:.2} mappings each; stopped: {why})");
        }
    }
    Ok(())
}
