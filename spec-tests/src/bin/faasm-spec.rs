//! `faasm-spec [--json] [--verbose] PATH...` — runs `.wast` files, folders
//! or embedded suites (`suite:wasm-v2`, `suite:proposals/simd`) against
//! faasm and prints per-file counts and a closing total.
//!
//! Exit status: 0 all passed, 1 something failed, 2 usage or I/O error.

use clap::{Parser, ValueEnum};
use faasm_spec_tests::{
    Counts, Failure, FileReport, Location, Options, WastSource, parse_features, resolve,
    run_ordered, run_wast, total,
};
use serde::Serialize;
use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "faasm-spec",
    about = "Run WebAssembly spec tests (.wast) against faasm"
)]
struct Cli {
    /// .wast files, folders (searched recursively) or suite:NAME[/FILE.wast]
    /// (suite:wasm-v1, suite:wasm-v2, suite:wasm-v3, suite:wasm-latest,
    /// suite:proposals/PROPOSAL).
    #[arg(required = true)]
    paths: Vec<String>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
    /// Print every failure and every skip with its location.
    #[arg(short, long)]
    verbose: bool,
    /// Files run in parallel.
    #[arg(short, long, default_value_t = 1)]
    jobs: usize,
    /// Run each file in a child process, so a crash (e.g. SIGSEGV in the
    /// runtime) fails that file, naming the directive it was running.
    #[arg(long)]
    isolate: bool,
    /// Seconds one call may run before it is interrupted (0 = no limit).
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// SFI scheme for linear memories.
    #[arg(long, value_enum, default_value_t = Strategy::Guarded)]
    memory: Strategy,
    /// Only compile modules (no runtime): checks module directives and
    /// assert_invalid/assert_malformed, skips everything else.
    #[arg(long)]
    compile_only: bool,
    /// Serialize each compiled module and run the one loaded back from the
    /// artifact bytes.
    #[arg(long)]
    via_artifact: bool,
    /// Also poll the interrupt word at loop headers (--timeout works
    /// without: the runtime stops a hung call with a signal).
    #[arg(long)]
    poll_interrupts: bool,
    /// Language for files outside the embedded suites (suite files always
    /// get their own): all, wasm2, or wasm2 plus proposals, e.g.
    /// `wasm2,tail-call,threads`.
    #[arg(long, default_value = "all")]
    features: String,
    /// Print `faasm-spec-trace` lines to stderr before each directive.
    #[arg(long, hide = true)]
    trace: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Strategy {
    Guarded,
    Explicit,
}

#[derive(Serialize)]
struct GroupReport<'a> {
    arg: &'a str,
    files: Vec<&'a FileReport>,
    counts: Counts,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    groups: Vec<GroupReport<'a>>,
    total: Counts,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut opts = match cli.memory {
        Strategy::Guarded => Options::default(),
        Strategy::Explicit => Options::explicit_bounds_checks(),
    };
    opts.invoke_timeout = (cli.timeout > 0).then(|| Duration::from_secs(cli.timeout));
    opts.trace = cli.trace || cli.isolate;
    match parse_features(&cli.features) {
        Ok(f) => opts.config.features = f,
        Err(e) => {
            eprintln!("faasm-spec: {e}");
            return ExitCode::from(2);
        }
    }
    opts.compile_only = cli.compile_only;
    opts.via_artifact = cli.via_artifact;
    opts.config.poll_interrupts = cli.poll_interrupts;

    let mut groups: Vec<(String, Vec<WastSource>)> = Vec::new();
    for arg in &cli.paths {
        match resolve(arg) {
            Ok(files) if files.is_empty() => {
                eprintln!("faasm-spec: {arg}: no .wast files");
                return ExitCode::from(2);
            }
            Ok(files) => groups.push((arg.clone(), files)),
            Err(e) => {
                eprintln!("faasm-spec: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let all: Vec<&WastSource> = groups.iter().flat_map(|(_, f)| f).collect();
    let stdout = std::io::stdout();
    let reports = run_ordered(
        all.len(),
        cli.jobs,
        |i| {
            if cli.isolate {
                run_in_child(all[i], &cli)
            } else {
                run_wast(&all[i].name, &all[i].text, &opts)
            }
        },
        |_, r| {
            if !cli.json {
                let mut out = stdout.lock();
                print_file(&mut out, r, cli.verbose);
                let _ = out.flush();
            }
        },
    );

    let mut out = stdout.lock();
    let mut at = 0;
    let mut json_groups = Vec::new();
    for (arg, files) in &groups {
        let group = &reports[at..at + files.len()];
        at += files.len();
        let counts = total(group);
        if cli.json {
            json_groups.push(GroupReport {
                arg,
                files: group.iter().collect(),
                counts,
            });
        } else if files.len() > 1 {
            let _ = writeln!(out, "{arg} total: {counts}");
        }
    }
    let sum = total(&reports);
    if cli.json {
        let report = JsonReport {
            groups: json_groups,
            total: sum,
        };
        match serde_json::to_string_pretty(&report) {
            Ok(s) => {
                let _ = writeln!(out, "{s}");
            }
            Err(e) => {
                eprintln!("faasm-spec: cannot serialise the report: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        let _ = writeln!(out, "{sum}");
    }
    if sum.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_file(out: &mut impl Write, r: &FileReport, verbose: bool) {
    let _ = writeln!(out, "{}: {}", r.name, r.counts);
    if verbose {
        for f in &r.failures {
            let _ = writeln!(out, "  FAIL {f}");
        }
        for s in &r.skips {
            let _ = writeln!(out, "  SKIP {} {}: {}", s.location, s.directive, s.reason);
        }
    } else {
        for (reason, n) in r.skip_reasons() {
            let _ = writeln!(out, "  SKIP {n}x: {reason}");
        }
    }
}

/// Runs one file in `faasm-spec --json` as a child process. A child that
/// dies (signal, abort) becomes a failed file naming the last directive it
/// started, taken from its trace output.
fn run_in_child(src: &WastSource, cli: &Cli) -> FileReport {
    let crashed = |got: String| {
        let mut r = FileReport::new(&src.name);
        r.fail(Failure {
            location: Location { line: 0, col: 0 },
            directive: "process".into(),
            expected: "the file's process to exit normally".into(),
            got,
        });
        r
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return crashed(format!("cannot find own executable: {e}")),
    };
    let memory = match cli.memory {
        Strategy::Guarded => "guarded",
        Strategy::Explicit => "explicit",
    };
    let output = Command::new(exe)
        .args(["--json", "--trace", "--memory", memory, "--timeout"])
        .arg(cli.timeout.to_string())
        .args(["--features", &cli.features])
        .args(cli.compile_only.then_some("--compile-only"))
        .args(cli.via_artifact.then_some("--via-artifact"))
        .args(cli.poll_interrupts.then_some("--poll-interrupts"))
        .arg(&src.spec)
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => return crashed(format!("cannot start a child process: {e}")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&stdout)
        && let Some(file) = v.pointer("/groups/0/files/0")
        && let Ok(mut r) = serde_json::from_value::<FileReport>(file.clone())
    {
        r.name = src.name.clone();
        return r;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("faasm-spec-trace "))
        .and_then(|l| l.split_once(' ').map(|(_, rest)| rest.to_string()))
        .unwrap_or_else(|| "before the first directive".into());
    let status = describe_status(&output.status);
    crashed(format!("{status} while running {last}"))
}

fn describe_status(s: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (_, Some(sig)) => format!("killed by signal {sig}"),
        (Some(c), None) => format!("exited with status {c} and no report"),
        (None, None) => "ended abnormally".into(),
    }
}
