//! `faasm-wasi-suite [--timeout SECS] [--verbose] [SUITE]` — runs the WASI
//! preview 1 conformance suite (wasi-testsuite) against faasm, printing one
//! line per failure or skip (with its reason) and closing with
//! `N passed, N failed, N skipped`.
//!
//! SUITE defaults to `../shared/wasi-testsuite` relative to the repository
//! root. Exit status: 0 all passed, 1 something failed or was skipped,
//! 2 the suite could not be read (a missing suite is an error, never a skip).

use clap::Parser;
use faasm_spec_tests::wasi_suite::{Verdict, run_suite};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "faasm-wasi-suite",
    about = "Run the WASI preview 1 conformance suite against faasm"
)]
struct Cli {
    /// The suite folder (holding assemblyscript/, c/, rust/).
    suite: Option<PathBuf>,
    /// Seconds one test may run before it is stopped and failed.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Also print a line for every passing test.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let suite = cli.suite.unwrap_or_else(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/wasi-testsuite"
        ))
    });
    if !suite.is_dir() {
        eprintln!(
            "faasm-wasi-suite: the suite folder {} does not exist (get wasi-testsuite there or pass its path)",
            suite.display()
        );
        return ExitCode::from(2);
    }
    let timeout = Duration::from_secs(cli.timeout.max(1));
    let totals = run_suite(&suite, timeout, |test, verdict| match verdict {
        Verdict::Pass if cli.verbose => println!("PASS {}", test.name),
        Verdict::Pass => {}
        Verdict::Fail(why) => println!("FAIL {}: {why}", test.name),
        Verdict::Skip(why) => println!("SKIP {}: {why}", test.name),
    });
    match totals {
        Err(e) => {
            eprintln!("faasm-wasi-suite: {}: {e}", suite.display());
            ExitCode::from(2)
        }
        Ok(t) => {
            println!("{t}");
            if t.failed == 0 && t.skipped == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
