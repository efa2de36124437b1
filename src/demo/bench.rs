//! `faasm-run bench sgd [--workers 1,2,8,32] [--epochs E] [--samples S]
//! [--features F] [--nnz K] [--json]`: the SGD demo in both state modes at
//! each worker count, side by side in one run, with copy/shared ratios.
//!
//! Every run is a child process (`faasm-run demo sgd --json`): peak memory
//! is measured per process, and a run in this process would start from
//! whatever heap the runs before it left behind.

use super::sgd::{self, SgdReport, StateMode};
use std::process::{Command, ExitCode, Stdio};

#[derive(Debug, clap::Args)]
pub struct SgdBench {
    /// Worker counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 8, 32])]
    pub workers: Vec<u32>,
    #[arg(long, default_value_t = sgd::DEFAULT_EPOCHS)]
    pub epochs: u32,
    #[arg(long, default_value_t = sgd::DEFAULT_SAMPLES)]
    pub samples: u32,
    #[arg(long, default_value_t = sgd::DEFAULT_FEATURES)]
    pub features: u32,
    #[arg(long, default_value_t = sgd::DEFAULT_NNZ)]
    pub nnz: u32,
    /// Print one JSON object (`{"runs": [...]}`) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot find faasm-run: {0}")]
    Exe(std::io::Error),
    #[error("cannot start faasm-run demo sgd: {0}")]
    Spawn(std::io::Error),
    #[error("demo sgd --workers {workers} --state {state} failed: {stderr}")]
    Run {
        workers: u32,
        state: &'static str,
        stderr: String,
    },
    #[error("demo sgd --workers {workers} --state {state} printed no report: {output:?}")]
    Report {
        workers: u32,
        state: &'static str,
        output: String,
    },
}

fn run_one(args: &SgdBench, workers: u32, state: StateMode) -> Result<SgdReport, BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::Exe)?;
    let out = Command::new(exe)
        .args(["demo", "sgd", "--json", "--state", state.name()])
        .args(["--workers", &workers.to_string()])
        .args(["--epochs", &args.epochs.to_string()])
        .args(["--samples", &args.samples.to_string()])
        .args(["--features", &args.features.to_string()])
        .args(["--nnz", &args.nnz.to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(BenchError::Spawn)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BenchError::Run {
            workers,
            state: state.name(),
            stderr: crate::exit::one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    serde_json::from_str(&stdout).map_err(|_| BenchError::Report {
        workers,
        state: state.name(),
        output: stdout.into_owned(),
    })
}

/// One row per worker count: `(shared, copy)`.
fn table(rows: &[(SgdReport, SgdReport)]) -> String {
    let mut t = String::from(
        "workers | time s: shared   copy  copy/shared | peak MiB: shared    copy  copy/shared | loss: shared    copy\n",
    );
    for (s, c) in rows {
        t.push_str(&format!(
            "{:>7} | {:>14.3} {:>6.3} {:>11.2}x | {:>16.1} {:>7.1} {:>11.2}x | {:>12.4} {:>7.4}\n",
            s.workers,
            s.time_s,
            c.time_s,
            c.time_s / s.time_s,
            s.peak_mem_mib,
            c.peak_mem_mib,
            c.peak_mem_mib / s.peak_mem_mib,
            s.loss,
            c.loss
        ));
    }
    t
}

fn run(args: &SgdBench) -> Result<String, BenchError> {
    let mut rows = Vec::new();
    for &n in &args.workers {
        let shared = run_one(args, n, StateMode::Shared)?;
        let copy = run_one(args, n, StateMode::Copy)?;
        rows.push((shared, copy));
    }
    if args.json {
        let runs: Vec<&SgdReport> = rows.iter().flat_map(|(s, c)| [s, c]).collect();
        let json = serde_json::json!({ "runs": runs });
        return Ok(json.to_string() + "\n");
    }
    let first = &rows.first().map(|r| &r.0);
    let head = first.map_or(String::new(), |r| {
        format!(
            "sgd: {} epochs, {} samples x {} features ({} non-zero each), {} cores\n",
            r.epochs,
            r.samples,
            r.features,
            r.nnz,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )
    });
    Ok(head + &table(&rows))
}

/// Runs `faasm-run bench sgd ...`.
pub fn main(args: &SgdBench) -> ExitCode {
    match run(args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "faasm-run: error: {}",
                crate::exit::one_line(&e.to_string())
            );
            ExitCode::from(crate::exit::EXIT_ERROR)
        }
    }
}
