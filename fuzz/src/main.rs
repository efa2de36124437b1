//! `faasm-fuzz`: the campaign driver.
//!
//! By default the driver supervises worker processes (itself, with
//! `--worker`) that run the cases and report each one's start and verdict
//! on stdout. A worker killed by a signal (a crash the runtime did not turn
//! into a trap) or stuck past `--case-timeout-secs` is a finding too: the
//! supervisor knows which case it was running, saves that case's input and
//! starts a new worker after it.

use clap::Parser;
use faasm_fuzz::cases::{RunOptions, Runner, Verdict};
use faasm_fuzz::{Mode, smith};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
#[command(about = "Differential fuzzing of faasmc and the faasm runtime")]
struct Args {
    #[arg(long, value_enum)]
    mode: Mode,
    /// Campaign seed; (seed, case) reproduces a case exactly.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of cases (default 1000 unless --time-secs is given).
    #[arg(long)]
    cases: Option<u64>,
    /// Stop starting cases after this many seconds.
    #[arg(long)]
    time_secs: Option<f64>,
    /// First case index.
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// Run only case K, in this process, verbosely.
    #[arg(long)]
    case: Option<u64>,
    /// Run a given .wasm/.wat instead of generated ones (diff, exec,
    /// compile, artifact), in this process.
    #[arg(long)]
    wasm: Option<PathBuf>,
    /// With --wasm: memory strategy (guarded, explicit).
    #[arg(long, default_value = "guarded")]
    strategy: String,
    /// Worker processes.
    #[arg(long, default_value_t = 1)]
    jobs: u64,
    /// Run cases in this process (no supervisor: a crash ends the run).
    #[arg(long)]
    in_process: bool,
    /// Where findings are written.
    #[arg(long, default_value = "target/fuzz-findings")]
    findings: PathBuf,
    /// Do not generate SIMD.
    #[arg(long)]
    no_simd: bool,
    /// Fuel of the generated modules' termination counter.
    #[arg(long, default_value_t = 20_000)]
    fuel: u32,
    /// Upper bound on the random bytes wasm-smith draws a module from.
    #[arg(long, default_value_t = 8192)]
    max_input: usize,
    /// Per-call timeout (faasm interrupt), in milliseconds.
    #[arg(long, default_value_t = 2000)]
    call_timeout_ms: u64,
    /// A case running longer than this is killed and reported as a hang.
    #[arg(long, default_value_t = 120)]
    case_timeout_secs: u64,
    /// Print every call and comparison.
    #[arg(long)]
    verbose: bool,
    /// `artifact`: hostile artifacts that load are not instantiated.
    #[arg(long)]
    load_only: bool,
    /// With --case: print the case's module as text and exit.
    #[arg(long)]
    print: bool,
    /// Internal: run as a worker for the supervisor.
    #[arg(long, hide = true)]
    worker: bool,
    /// Internal (worker): case stride.
    #[arg(long, hide = true, default_value_t = 1)]
    stride: u64,
    /// Internal (worker): end of the case range (exclusive).
    #[arg(long, hide = true)]
    end: Option<u64>,
}

impl Args {
    fn run_options(&self) -> RunOptions {
        RunOptions {
            generation: smith::GenOptions {
                simd: !self.no_simd,
                fuel: self.fuel,
                max_input: self.max_input,
                ..Default::default()
            },
            call_timeout: Duration::from_millis(self.call_timeout_ms),
            verbose: self.verbose,
            load_only: self.load_only,
            ..Default::default()
        }
    }
}

/// Runs `f` on a thread with a large stack (the runtime runs wasm on the
/// calling thread's stack; the compiler recurses on nesting).
fn on_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .name("faasm-fuzz-cases".into())
        .stack_size(256 << 20)
        .spawn(f)
        .expect("spawn case thread")
        .join()
        .unwrap_or_else(|_| std::process::exit(101))
}

fn main() {
    let args = Args::parse();
    faasm_fuzz::capture_panics();
    let code = if args.worker {
        on_big_stack(move || worker(&args))
    } else if let Some(path) = args.wasm.clone() {
        on_big_stack(move || run_file(&args, &path))
    } else if let (Some(k), true) = (args.case, args.print) {
        print_case(&args, k)
    } else if args.case.is_some() || args.in_process {
        on_big_stack(move || in_process(&args))
    } else {
        supervise(&args)
    };
    std::process::exit(code);
}

/// One verdict as a report line's tail.
fn verdict_line(v: &Verdict) -> String {
    match v {
        Verdict::Pass => "pass".into(),
        Verdict::Fail(m) => format!("fail {}", m.replace('\n', " | ")),
        Verdict::Skip(r) => format!("skip {r}"),
    }
}

fn save(args: &Args, case: u64, input: Option<&[u8]>, ext: &str, what: &str) -> String {
    let regenerated;
    let input = match input {
        Some(i) if !i.is_empty() => i,
        _ => {
            regenerated =
                faasm_fuzz::case_input(args.mode, args.seed, case, &args.run_options().generation)
                    .unwrap_or_default();
            &regenerated
        }
    };
    match faasm_fuzz::save_finding(&args.findings, args.mode, args.seed, case, input, ext, what) {
        Ok(p) => p.display().to_string(),
        Err(e) => format!("(could not save: {e})"),
    }
}

fn worker(args: &Args) -> i32 {
    let runner = Runner::new(args.run_options());
    let deadline = args
        .time_secs
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let end = args.end.unwrap_or(u64::MAX);
    let stdout = std::io::stdout();
    let mut case = args.first;
    while case < end {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        {
            let mut out = stdout.lock();
            let _ = writeln!(out, "start {case}");
            let _ = out.flush();
        }
        let (v, input) = faasm_fuzz::run_one(&runner, args.mode, args.seed, case);
        if let Verdict::Fail(m) = &v {
            let ext = input.as_ref().map_or(ext_of(args.mode), |i| i.ext);
            save(
                args,
                case,
                input.as_ref().map(|i| i.bytes.as_slice()),
                ext,
                m,
            );
        }
        {
            let mut out = stdout.lock();
            let _ = writeln!(out, "done {case} {}", verdict_line(&v));
            let _ = out.flush();
        }
        case = case.saturating_add(args.stride);
    }
    0
}

fn print_case(args: &Args, case: u64) -> i32 {
    let opts = args.run_options().generation;
    let Some(wasm) = faasm_fuzz::case_input(
        if args.mode == Mode::Artifact {
            Mode::Diff
        } else {
            args.mode
        },
        args.seed,
        case,
        &opts,
    ) else {
        eprintln!("case {case}: generation failed");
        return 2;
    };
    match wasmprinter::print_bytes(&wasm) {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(e) => {
            eprintln!("case {case}: {e}");
            2
        }
    }
}

fn ext_of(mode: Mode) -> &'static str {
    if mode == Mode::Artifact {
        "faasm"
    } else {
        "wasm"
    }
}

fn strategy_from(name: &str) -> faasm_abi::MemoryStrategy {
    match name {
        "explicit" => faasm_abi::MemoryStrategy::Explicit,
        _ => faasm_abi::MemoryStrategy::default(),
    }
}

fn run_file(args: &Args, path: &std::path::Path) -> i32 {
    let runner = Runner::new(args.run_options());
    if args.mode == Mode::Artifact {
        let bytes = std::fs::read(path).unwrap_or_default();
        if !bytes.starts_with(b"\0asm") && path.extension().is_none_or(|e| e != "wat") {
            let v = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                faasm_fuzz::artifact::check_file(&runner, &bytes)
            }))
            .unwrap_or_else(|_| Verdict::Fail("panic".into()));
            println!("{}: {}", path.display(), verdict_line(&v));
            return i32::from(matches!(v, Verdict::Fail(_)));
        }
    }
    let wasm = match faasm_fuzz::read_module(path) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return 2;
        }
    };
    let mut rng = smith::case_rng(args.seed, args.case.unwrap_or(0));
    let strategy = strategy_from(&args.strategy);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match args.mode {
        Mode::Diff | Mode::Addr => runner.diff_wasm(&wasm, &mut rng, strategy),
        Mode::Exec => runner.exec_wasm(&wasm, &mut rng, strategy),
        Mode::Compile => faasm_fuzz::cases::compile_wasm(&wasm),
        Mode::Artifact => faasm_fuzz::artifact::run(&runner, &wasm, &mut rng).0,
    }));
    let v = r.unwrap_or_else(|_| Verdict::Fail("panic".into()));
    println!("{}: {}", path.display(), verdict_line(&v));
    i32::from(matches!(v, Verdict::Fail(_)))
}

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    skipped: u64,
    reasons: BTreeMap<String, u64>,
    findings: Vec<String>,
}

impl Tally {
    fn add(&mut self, line_tail: &str) {
        let (kind, rest) = line_tail.split_once(' ').unwrap_or((line_tail, ""));
        match kind {
            "pass" => self.passed += 1,
            "skip" => {
                self.skipped += 1;
                *self.reasons.entry(rest.to_string()).or_default() += 1;
            }
            _ => self.failed += 1,
        }
    }

    fn total(&self) -> u64 {
        self.passed + self.failed + self.skipped
    }

    fn summary(&self, mode: Mode, started: Instant) -> i32 {
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{}: {} cases in {:.1} s ({:.1} cases/s)",
            mode.name(),
            self.total(),
            secs,
            self.total() as f64 / secs.max(1e-9)
        );
        for (r, n) in &self.reasons {
            println!("  skipped {n}: {r}");
        }
        for f in &self.findings {
            println!("  FINDING {f}");
        }
        println!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        );
        i32::from(self.failed > 0)
    }
}

fn in_process(args: &Args) -> i32 {
    let runner = Runner::new(args.run_options());
    let started = Instant::now();
    let mut tally = Tally::default();
    let (first, end) = match args.case {
        Some(k) => (k, k + 1),
        None => (
            args.first,
            args.first
                .saturating_add(args.cases.unwrap_or(if args.time_secs.is_some() {
                    u64::MAX
                } else {
                    1000
                })),
        ),
    };
    let deadline = args.time_secs.map(|t| started + Duration::from_secs_f64(t));
    for case in first..end {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if args.verbose {
            eprintln!("case {case}:");
        }
        let (v, input) = faasm_fuzz::run_one(&runner, args.mode, args.seed, case);
        if let Verdict::Fail(m) = &v {
            let ext = input.as_ref().map_or(ext_of(args.mode), |i| i.ext);
            let path = save(
                args,
                case,
                input.as_ref().map(|i| i.bytes.as_slice()),
                ext,
                m,
            );
            tally
                .findings
                .push(format!("case {case}: {m} (saved {path})"));
        }
        if args.case.is_some() {
            println!("case {case}: {}", verdict_line(&v));
        }
        tally.add(&verdict_line(&v));
    }
    tally.summary(args.mode, started)
}

struct WorkerProc {
    child: Child,
    /// The case it is running and since when.
    current: Option<(u64, Instant)>,
    alive: bool,
}

enum Msg {
    Line(usize, String),
    Eof(usize),
}

fn spawn_worker(
    args: &Args,
    id: usize,
    first: u64,
    end: u64,
    remaining: Option<f64>,
    tx: &mpsc::Sender<Msg>,
) -> WorkerProc {
    let exe = std::env::current_exe().expect("own executable");
    let mut cmd = Command::new(exe);
    cmd.arg("--worker")
        .args(["--mode", args.mode.name()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--first", &first.to_string()])
        .args(["--stride", &args.jobs.max(1).to_string()])
        .args(["--end", &end.to_string()])
        .args(["--fuel", &args.fuel.to_string()])
        .args(["--max-input", &args.max_input.to_string()])
        .args(["--call-timeout-ms", &args.call_timeout_ms.to_string()])
        .arg("--findings")
        .arg(&args.findings)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if args.no_simd {
        cmd.arg("--no-simd");
    }
    if args.load_only {
        cmd.arg("--load-only");
    }
    if let Some(t) = remaining {
        cmd.args(["--time-secs", &format!("{t:.3}")]);
    }
    let mut child = cmd.spawn().expect("spawn worker");
    let stdout = child.stdout.take().expect("piped stdout");
    let tx = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send(Msg::Line(id, l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Msg::Eof(id));
    });
    WorkerProc {
        child,
        current: None,
        alive: true,
    }
}

fn supervise(args: &Args) -> i32 {
    let started = Instant::now();
    let jobs = args.jobs.max(1);
    let count = args.cases.unwrap_or(if args.time_secs.is_some() {
        u64::MAX
    } else {
        1000
    });
    let end = args.first.saturating_add(count);
    let deadline = args.time_secs.map(|t| started + Duration::from_secs_f64(t));
    let remaining = || deadline.map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64());
    println!(
        "faasm-fuzz: mode {}, seed {}, cases {}..{}{}, {} worker(s)",
        args.mode.name(),
        args.seed,
        args.first,
        if end == u64::MAX {
            "".to_string()
        } else {
            end.to_string()
        },
        args.time_secs
            .map(|t| format!(", at most {t} s"))
            .unwrap_or_default(),
        jobs
    );
    let (tx, rx) = mpsc::channel();
    let mut workers: Vec<WorkerProc> = (0..jobs as usize)
        .filter(|j| args.first + (*j as u64) < end)
        .map(|j| spawn_worker(args, j, args.first + j as u64, end, remaining(), &tx))
        .collect();
    let mut tally = Tally::default();
    let mut last_report = Instant::now();
    let case_timeout = Duration::from_secs(args.case_timeout_secs);
    while workers.iter().any(|w| w.alive) {
        let msg = rx.recv_timeout(Duration::from_millis(500));
        match msg {
            Ok(Msg::Line(id, line)) => {
                if let Some(k) = line.strip_prefix("start ") {
                    if let Ok(k) = k.parse() {
                        workers[id].current = Some((k, Instant::now()));
                    }
                } else if let Some(rest) = line.strip_prefix("done ") {
                    let (k, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                    workers[id].current = None;
                    if let Some(m) = tail.strip_prefix("fail ") {
                        let stem = format!("{}-seed{}-case{k}", args.mode.name(), args.seed);
                        println!(
                            "FINDING case {k}: {m}\n  saved {}/{stem}.*; reproduce: --mode {} --seed {} --case {k}",
                            args.findings.display(),
                            args.mode.name(),
                            args.seed
                        );
                        tally.findings.push(format!("case {k}: {m}"));
                    }
                    tally.add(tail);
                }
            }
            Ok(Msg::Eof(id)) => {
                let status = workers[id].child.wait();
                workers[id].alive = false;
                if let Some((k, _)) = workers[id].current.take() {
                    let why = match status {
                        Ok(s) => format!("worker died ({s})"),
                        Err(e) => format!("worker died ({e})"),
                    };
                    crashed(args, &mut tally, k, &why);
                    let next = k + jobs;
                    if next < end && remaining().is_none_or(|r| r > 0.0) {
                        workers[id] = spawn_worker(args, id, next, end, remaining(), &tx);
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // Hangs: kill the worker; its EOF then reports and restarts it.
        for w in workers.iter_mut().filter(|w| w.alive) {
            if let Some((k, since)) = w.current
                && since.elapsed() > case_timeout
            {
                eprintln!("case {k} is still running after {case_timeout:?}: killing its worker");
                let _ = w.child.kill();
                w.current = Some((k, Instant::now() + Duration::from_secs(3600)));
            }
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "[{secs:6.0} s] {} cases ({:.1}/s): {} passed, {} failed, {} skipped",
                tally.total(),
                tally.total() as f64 / secs,
                tally.passed,
                tally.failed,
                tally.skipped
            );
        }
    }
    tally.summary(args.mode, started)
}

fn crashed(args: &Args, tally: &mut Tally, case: u64, why: &str) {
    let path = save(args, case, None, ext_of(args.mode), why);
    println!(
        "FINDING case {case}: {why}\n  saved {path}; reproduce: --mode {} --seed {} --case {case}",
        args.mode.name(),
        args.seed
    );
    tally.failed += 1;
    tally.findings.push(format!("case {case}: {why}"));
}
