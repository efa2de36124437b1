//! Differential fuzzing of faasmc and the faasm runtime.
//!
//! Modes (see `fuzz/README.md` and `faasm-fuzz --help`):
//! - `compile`: generated (and sometimes mutated) modules; faasmc must
//!   accept exactly the valid ones and never panic;
//! - `exec`: generated modules are instantiated and every export called;
//! - `diff`: the same on faasm and on the wasmi interpreter, comparing
//!   results, traps, exported globals, memories and tables after each call;
//! - `artifact`: corrupted artifacts must fail to load, never crash;
//! - `addr`: generated loads and stores at `x + c` near zero, the end of
//!   memory and the guards, on both engines like `diff` (`addr.rs`).

pub mod addr;
pub mod artifact;
pub mod cases;
pub mod faasm_side;
pub mod oracle;
pub mod oracle_bugs;
pub mod smith;
pub mod value;
pub mod watchdog;

use cases::{CaseInput, Runner, Verdict};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Compile,
    Exec,
    Diff,
    Artifact,
    /// Address shapes the compiler folds (`addr.rs`), against the oracle.
    Addr,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Compile => "compile",
            Mode::Exec => "exec",
            Mode::Diff => "diff",
            Mode::Artifact => "artifact",
            Mode::Addr => "addr",
        }
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that records the message (with its location)
/// for [`run_one`] instead of printing it.
pub fn capture_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-string panic payload)".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
    }));
}

/// Runs case `case` of campaign `seed`, turning a panic into a finding.
pub fn run_one(runner: &Runner, mode: Mode, seed: u64, case: u64) -> (Verdict, Option<CaseInput>) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_case(runner, mode, seed, case)
    }));
    match r {
        Ok((v, input)) => (v, Some(input)),
        Err(_) => {
            let msg = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "unknown panic".into());
            (Verdict::Fail(format!("panic: {msg}")), None)
        }
    }
}

/// The input a case would run (for `artifact`, the corrupted artifact),
/// regenerated without running it (for a
/// crash, which leaves no input behind).
pub fn case_input(mode: Mode, seed: u64, case: u64, opts: &smith::GenOptions) -> Option<Vec<u8>> {
    let mut opts = opts.clone();
    opts.unsupported_features = mode == Mode::Compile;
    if mode == Mode::Addr {
        return addr::generate(seed, case).ok().map(|g| g.wasm);
    }
    let g = smith::generate(seed, case, &opts).ok()?;
    if mode == Mode::Artifact {
        let mut rng = g.rng;
        return artifact::corrupted(&g.wasm, &mut rng);
    }
    if mode == Mode::Compile {
        // Apply the same mutation the case would.
        use rand_chacha::rand_core::RngCore;
        let mut rng = g.rng;
        let mut wasm = g.wasm;
        if rng.next_u32().is_multiple_of(2) {
            cases::mutate_bytes(&mut rng, &mut wasm);
        }
        return Some(wasm);
    }
    Some(g.wasm)
}

/// Writes a finding's input and description into `dir`; returns the
/// input's path.
pub fn save_finding(
    dir: &Path,
    mode: Mode,
    seed: u64,
    case: u64,
    input: &[u8],
    ext: &str,
    what: &str,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let stem = format!("{}-seed{seed}-case{case}", mode.name());
    let path = dir.join(format!("{stem}.{ext}"));
    std::fs::write(&path, input)?;
    let repro = format!(
        "cargo run --release -p faasm-fuzz -- --mode {} --seed {seed} --case {case} --verbose",
        mode.name()
    );
    std::fs::write(
        dir.join(format!("{stem}.txt")),
        format!("{what}\n\nreproduce: {repro}\n"),
    )?;
    Ok(path)
}

/// A `.wat` (text) or `.wasm` (binary) file as binary.
pub fn read_module(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat_to_wasm(std::str::from_utf8(&bytes)?)
}

pub fn wat_to_wasm(text: &str) -> anyhow::Result<Vec<u8>> {
    let buf = wast::parser::ParseBuffer::new(text)?;
    let mut wat = wast::parser::parse::<wast::Wat>(&buf)?;
    Ok(wat.encode()?)
}

/// Regenerates the input of case `case` and runs it in `mode` (here, above
/// both the wasm cases and the artifact cases it dispatches to).
fn run_case(runner: &Runner, mode: Mode, seed: u64, case: u64) -> (Verdict, CaseInput) {
    use rand_chacha::rand_core::RngCore;
    let mut opts = runner.opts.generation.clone();
    if mode == Mode::Compile {
        opts.unsupported_features = true;
    }
    let generated = if mode == Mode::Addr {
        addr::generate(seed, case)
    } else {
        crate::smith::generate(seed, case, &opts)
    };
    let generated = match generated {
        Ok(g) => g,
        Err(e) => {
            runner.log(|| e.clone());
            let empty = CaseInput {
                bytes: vec![],
                ext: "wasm",
            };
            return (Verdict::skip("generation failed"), empty);
        }
    };
    let mut rng = generated.rng;
    let mut wasm = generated.wasm;
    runner.log(|| format!("module: {} bytes", wasm.len()));
    let verdict = match mode {
        Mode::Compile => {
            if rng.next_u32().is_multiple_of(2) {
                cases::mutate_bytes(&mut rng, &mut wasm);
            }
            cases::compile_wasm(&wasm)
        }
        Mode::Exec => {
            let strategy = crate::smith::memory_strategy(&mut rng);
            runner.exec_wasm(&wasm, &mut rng, strategy)
        }
        Mode::Diff => {
            let strategy = crate::smith::memory_strategy(&mut rng);
            runner.log(|| format!("memory strategy {strategy:?}"));
            runner.diff_wasm(&wasm, &mut rng, strategy)
        }
        Mode::Artifact => return artifact::run(runner, &wasm, &mut rng),
        Mode::Addr => {
            let strategy = addr::memory_strategy(&mut rng);
            runner.log(|| format!("memory strategy {strategy:?}"));
            runner.diff_wasm(&wasm, &mut rng, strategy)
        }
    };
    (
        verdict,
        CaseInput {
            bytes: wasm,
            ext: "wasm",
        },
    )
}
