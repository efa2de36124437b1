//! `faasm-run demo sgd --workers N --state shared|copy [--epochs E]
//! [--samples S] [--features F] [--nnz K] [--learning-rate R] [--seed X]
//! [--guest FILE] [--json]`.
//!
//! Recognised only as the words `demo sgd` (see `crate::cli`): `faasm-run
//! demo NAME` still greets NAME for any other NAME.

use super::sgd::{self, SgdConfig, SgdError, SgdReport};
use crate::executor::FunctionStore;
use crate::executor::cli::StateStoreArg;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

// Exit status for bad input, as for clap's own usage errors.
use crate::exit::EXIT_USAGE;

#[derive(Debug, Parser)]
#[command(
    name = "faasm-run demo sgd",
    about = "Hogwild SGD (sparse logistic regression) as Faaslets, state shared in memory or copied"
)]
pub struct SgdCli {
    /// Workers the driver chains per epoch (all run at once).
    #[arg(long, value_name = "N")]
    pub workers: u32,
    /// How workers reach weights and data: `shared` (mapped, zero copy) or
    /// `copy` (copied in and merged back each epoch).
    #[arg(long, value_name = "shared|copy")]
    pub state: String,
    #[arg(long, value_name = "E", default_value_t = sgd::DEFAULT_EPOCHS)]
    pub epochs: u32,
    /// Samples in the data set.
    #[arg(long, value_name = "S", default_value_t = sgd::DEFAULT_SAMPLES)]
    pub samples: u32,
    /// Features (the length of the weight vector).
    #[arg(long, value_name = "F", default_value_t = sgd::DEFAULT_FEATURES)]
    pub features: u32,
    /// Non-zero features per sample.
    #[arg(long, value_name = "K", default_value_t = sgd::DEFAULT_NNZ)]
    pub nnz: u32,
    #[arg(long, value_name = "R", default_value_t = sgd::DEFAULT_LEARNING_RATE)]
    pub learning_rate: f64,
    /// Seed of the synthetic data set.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run this build of examples/c/sgd.c instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    pub guest: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub state_store: StateStoreArg,
}

impl SgdCli {
    pub fn config(&self) -> Result<SgdConfig, SgdError> {
        Ok(SgdConfig {
            epochs: self.epochs,
            samples: self.samples,
            features: self.features,
            nnz: self.nnz,
            learning_rate: self.learning_rate,
            seed: self.seed,
            ..SgdConfig::new(self.workers, self.state.parse()?)
        })
    }
}

fn text(r: &SgdReport) -> String {
    let losses: Vec<String> = r.epoch_losses.iter().map(|l| format!("{l:.4}")).collect();
    format!(
        "sgd: {} workers, {} state, {} epochs, {} samples x {} features ({} non-zero each)\n\
         epoch losses: {}\n\
         final loss:   {:.4}\n\
         time:         {:.3} s\n\
         peak memory:  {:.1} MiB\n\
         weights:      norm {:.4} (driver), {:.4} (global tier)\n",
        r.workers,
        r.state.name(),
        r.epochs,
        r.samples,
        r.features,
        r.nnz,
        losses.join(" "),
        r.loss,
        r.time_s,
        r.peak_mem_mib,
        r.weights_norm,
        r.global_weights_norm
    )
}

fn execute(cli: &SgdCli) -> Result<String, SgdError> {
    let config = cli.config()?;
    config.validate()?;
    let guest = match &cli.guest {
        Some(path) => std::fs::read(path)
            .map_err(|e| SgdError::Invalid(format!("cannot read {}: {e}", path.display())))?,
        None => sgd::GUEST.to_vec(),
    };
    let store = FunctionStore::from_env()?;
    let global = cli
        .state_store
        .open(store.home())
        .map_err(|e| SgdError::StateStore(e.to_string()))?;
    let report = sgd::run(&config, &guest, store, global)?;
    Ok(if cli.json {
        serde_json::to_string(&report).expect("a report serialises") + "\n"
    } else {
        text(&report)
    })
}

/// Runs `faasm-run demo sgd ...` (`args[0]` is the program, then "demo",
/// "sgd").
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = SgdCli::parse_from(
        std::iter::once("faasm-run demo sgd".into()).chain(args.into_iter().skip(3)),
    );
    match execute(&cli) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("faasm-run: error: cannot write output: {e}");
                    ExitCode::from(crate::exit::EXIT_ERROR)
                }
            }
        }
        Err(e) => {
            eprintln!("faasm-run: error: {}", crate::exit::report(&e.to_string()));
            ExitCode::from(if e.is_usage() {
                EXIT_USAGE
            } else {
                crate::exit::EXIT_ERROR
            })
        }
    }
}
