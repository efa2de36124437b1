//! The WebAssembly spec-test harness: runs `.wast` scripts against the
//! faasm runtime's public API and counts every directive as passed, failed
//! or skipped (with a reason) — nothing is silently dropped.
//!
//! Wasm runs on the native stack, so each file runs on a dedicated thread
//! with a large stack while the engine's `max_wasm_stack` stays well below
//! it; `assert_exhaustion` then traps cleanly instead of killing the process.

mod panics;
mod report;
mod runner;
mod sources;
mod spectest;
mod traps;
mod values;
pub mod wasi_suite;
mod watchdog;

pub use report::{Counts, Failure, FileReport, Location, Skip};
pub use sources::{SUITE_PREFIX, SourceError, WastSource, resolve};
pub use traps::message_matches;

use faasm_runtime::{Config, Features, MemoryStrategy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How files are run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The engine configuration every file's fresh engine uses.
    pub config: Config,
    /// Native stack of the thread a file runs on; must exceed
    /// `config.max_wasm_stack` by a comfortable margin (host frames,
    /// compilation, the trap handler).
    pub thread_stack_size: usize,
    /// Interrupt a single call after this long; `None` waits forever.
    pub invoke_timeout: Option<Duration>,
    /// Print `faasm-spec-trace NAME LINE:COL KIND` to stderr before every
    /// directive, so a crash of the whole process can be located.
    pub trace: bool,
    /// Only compile modules (through `faasm_compiler::compile`, without
    /// the runtime): module directives and `assert_invalid` /
    /// `assert_malformed` are checked, everything that needs an instance is
    /// skipped. For triaging the compiler on its own.
    pub compile_only: bool,
    /// Serialize every compiled module to an artifact and run the module
    /// loaded back from it (tests the artifact format end to end).
    pub via_artifact: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config {
                max_wasm_stack: 4 << 20,
                ..Config::default()
            },
            thread_stack_size: 64 << 20,
            invoke_timeout: Some(Duration::from_secs(60)),
            trace: false,
            compile_only: false,
            via_artifact: false,
        }
    }
}

impl Options {
    /// Default options with explicit bounds checks instead of guard pages.
    pub fn explicit_bounds_checks() -> Options {
        let mut o = Options::default();
        o.config.memory_strategy = MemoryStrategy::Explicit;
        o
    }
}

/// The language a spec file is written against, from where it lives in
/// the suite: `wasm-v1`/`wasm-v2` files are exactly 2.0 (they check that
/// later proposals' constructs are rejected), a proposal's folder adds that
/// proposal to its baseline, and anything else runs with `configured`.
pub fn features_for(name: &str, configured: Features) -> Features {
    let path = name.replace('\\', "/");
    if path.contains("wasm-v1/") || path.contains("wasm-v2/") {
        return Features::WASM2;
    }
    let Some(proposal) = path
        .split("proposals/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
    else {
        return configured;
    };
    let mut f = Features::WASM2;
    match proposal {
        // Written against 1.0 plus threads: "multiple tables" is invalid.
        "threads" => {
            f.threads = true;
            f.reference_types = false;
        }
        "tail-call" => f.tail_call = true,
        "extended-const" => f.extended_const = true,
        "multi-memory" => f.multi_memory = true,
        // simd_memory-multi.wast combines SIMD with multiple memories.
        "simd" => f.multi_memory = true,
        // Merged into 2.0: their suites check 2.0's encodings (e.g. the
        // zero byte of memory.grow, which multi-memory turns into an index).
        "bulk-memory"
        | "reference-types"
        | "multi-value"
        | "mutable-global"
        | "sign-extension-ops"
        | "nontrapping-float-to-int-conversions" => {}
        _ => return configured,
    }
    f
}

/// Parses a feature list for files outside the embedded suites: `all`,
/// `wasm2`, or `wasm2` plus comma-separated proposals (`threads`,
/// `tail-call`, `extended-const`, `multi-memory`), e.g.
/// `wasm2,tail-call`. A bare proposal list starts from `wasm2`.
pub fn parse_features(spec: &str) -> Result<Features, String> {
    let mut f = Features::WASM2;
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "all" => f = Features::ALL,
            "wasm2" => {}
            "threads" => f.threads = true,
            "tail-call" => f.tail_call = true,
            "extended-const" => f.extended_const = true,
            "multi-memory" => f.multi_memory = true,
            other => {
                return Err(format!(
                    "unknown feature `{other}` (all, wasm2, threads, tail-call, extended-const, multi-memory)"
                ));
            }
        }
    }
    Ok(f)
}

/// Parses and runs one `.wast` script on a fresh engine, linker and
/// `spectest` module, on a dedicated big-stack thread.
pub fn run_wast(name: &str, source: &str, opts: &Options) -> FileReport {
    let fallback = |why: String| {
        let mut r = FileReport::new(name);
        r.fail(Failure {
            location: Location { line: 0, col: 0 },
            directive: "harness".into(),
            expected: "the file to run to completion".into(),
            got: why,
        });
        r
    };
    std::thread::scope(|s| {
        let t = std::thread::Builder::new()
            .name(format!("wast:{name}"))
            .stack_size(opts.thread_stack_size)
            .spawn_scoped(s, || runner::run_wast_here(name, source, opts));
        match t {
            Err(e) => fallback(format!("cannot spawn the file's thread: {e}")),
            // Directive panics are caught inside; this is a harness bug.
            Ok(h) => h
                .join()
                .unwrap_or_else(|_| fallback("the harness thread panicked".into())),
        }
    })
}

/// Runs `sources` on `jobs` worker threads, calling `on_report` in source
/// order as soon as each file and all files before it are done.
pub fn run_sources(
    sources: &[WastSource],
    opts: &Options,
    jobs: usize,
    mut on_report: impl FnMut(usize, &FileReport),
) -> Vec<FileReport> {
    run_ordered(
        sources.len(),
        jobs,
        |i| run_wast(&sources[i].name, &sources[i].text, opts),
        |i, r| on_report(i, r),
    )
}

/// Runs `work(0..n)` on `jobs` threads; `on_done` sees results in index
/// order. Shared by in-process runs and the CLI's child-process runs.
pub fn run_ordered(
    n: usize,
    jobs: usize,
    work: impl Fn(usize) -> FileReport + Sync,
    mut on_done: impl FnMut(usize, &FileReport),
) -> Vec<FileReport> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, FileReport)>();
    let mut done: Vec<Option<FileReport>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, n.max(1)) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n || tx.send((i, work(i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut printed = 0;
        for (i, r) in rx {
            done[i] = Some(r);
            while let Some(Some(r)) = done.get(printed) {
                on_done(printed, r);
                printed += 1;
            }
        }
    });
    done.into_iter()
        .map(|r| r.expect("every file reports"))
        .collect()
}

/// Sum of the counts of `reports`.
pub fn total(reports: &[FileReport]) -> Counts {
    let mut c = Counts::default();
    for r in reports {
        c.add(r.counts);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_files_get_their_own_language() {
        let all = Features::ALL;
        assert_eq!(features_for("wasm-v2/binary.wast", all), Features::WASM2);
        assert_eq!(features_for("wasm-v1/binary.wast", all), Features::WASM2);
        let tc = features_for("proposals/tail-call/return_call.wast", all);
        assert!(tc.tail_call && !tc.threads && !tc.multi_memory);
        let th = features_for("proposals/threads/atomic.wast", all);
        assert!(th.threads && !th.reference_types);
        // Files outside the suites keep what was configured.
        assert_eq!(features_for("/tmp/x.wast", all), all);
        let rt = features_for("proposals/reference-types/binary.wast", all);
        assert_eq!(rt, Features::WASM2);
        assert_eq!(
            features_for("/tmp/x.wast", Features::WASM2),
            Features::WASM2
        );
    }

    #[test]
    fn feature_lists_parse() {
        assert_eq!(parse_features("all"), Ok(Features::ALL));
        assert_eq!(parse_features("wasm2"), Ok(Features::WASM2));
        let f = parse_features("wasm2,tail-call, threads").unwrap();
        assert!(f.tail_call && f.threads && !f.multi_memory && !f.extended_const);
        assert!(parse_features("gc").is_err());
    }
}
