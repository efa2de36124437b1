//! `faasm-run demo sgd`: Hogwild SGD (sparse logistic regression) as
//! Faaslets, with state shared through memory or copied in and out.
//!
//! The guest is `examples/c/sgd.c` (its header comment has the protocol);
//! its build is embedded here (`sgd.wasm`, refreshed by
//! `scripts/embed-sgd.sh`; `tests/sgd.rs` checks it matches the source), so
//! the demo needs no guest toolchain. A run:
//!
//! 1. uploads the guest as `sgd/sgd` to the function store of `$FAASM_HOME`;
//! 2. calls it with `setup`: the data set, made from the seed, and zero
//!    weights are written to state (and the global tier) once;
//! 3. calls it with `train`, timed and with memory sampled: the driver
//!    chains the workers once per epoch, then once more to evaluate the
//!    final loss, and pushes the weights to the global tier;
//! 4. reads the weights back from the global tier through a fresh executor,
//!    so the report shows what persisted, not what this process holds.

use super::memory::{PeakSampler, pss_bytes};
use crate::executor::{Executor, ExecutorConfig, FunctionStore, Limits, StoreError};
use faasm_hostif::faasm::global::GlobalStore;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The user and function the demo runs as.
pub const USER: &str = "sgd";
pub const FUNCTION: &str = "sgd";
/// The state key of the weights (see examples/c/sgd.c).
pub const WEIGHTS_KEY: &str = "sgd_weights";

/// `examples/c/sgd.c`, built by `scripts/embed-sgd.sh`.
pub const GUEST: &[u8] = include_bytes!("sgd.wasm");

/// The driver chains at most this many workers (`MAX_WORKERS` in sgd.c).
pub const MAX_WORKERS: u32 = 1024;

/// State bytes a run may use: the per-user state limit is 256 MiB, and the
/// data set and weights must fit in it with room to spare.
const MAX_STATE_BYTES: u64 = 192 << 20;

/// How often peak memory is sampled.
const SAMPLE_PERIOD: Duration = Duration::from_millis(2);

/// How the workers reach the weights and the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateMode {
    /// Mapped into every worker's memory, updated in place (zero copy).
    Shared,
    /// Copied into each worker and merged back (copy-in/copy-out).
    Copy,
}

impl StateMode {
    pub fn name(self) -> &'static str {
        match self {
            StateMode::Shared => "shared",
            StateMode::Copy => "copy",
        }
    }

    /// The guest's letter for the mode.
    fn letter(self) -> char {
        match self {
            StateMode::Shared => 's',
            StateMode::Copy => 'c',
        }
    }
}

impl std::str::FromStr for StateMode {
    type Err = SgdError;

    fn from_str(s: &str) -> Result<StateMode, SgdError> {
        match s {
            "shared" => Ok(StateMode::Shared),
            "copy" => Ok(StateMode::Copy),
            _ => Err(SgdError::UnknownState(s.to_string())),
        }
    }
}

/// Defaults that run in about a second on two cores: 13 MiB of data, 1 MiB
/// of weights (one place, shared by the demo's and the benchmark's flags).
pub const DEFAULT_EPOCHS: u32 = 10;
pub const DEFAULT_SAMPLES: u32 = 100_000;
pub const DEFAULT_FEATURES: u32 = 262_144;
pub const DEFAULT_NNZ: u32 = 16;
pub const DEFAULT_LEARNING_RATE: f64 = 0.1;

/// One run's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SgdConfig {
    pub workers: u32,
    pub state: StateMode,
    pub epochs: u32,
    pub samples: u32,
    pub features: u32,
    /// Non-zero features per sample.
    pub nnz: u32,
    pub learning_rate: f64,
    pub seed: u64,
}

impl SgdConfig {
    /// The defaults above, seed 1.
    pub fn new(workers: u32, state: StateMode) -> SgdConfig {
        SgdConfig {
            workers,
            state,
            epochs: DEFAULT_EPOCHS,
            samples: DEFAULT_SAMPLES,
            features: DEFAULT_FEATURES,
            nnz: DEFAULT_NNZ,
            learning_rate: DEFAULT_LEARNING_RATE,
            seed: 1,
        }
    }

    /// Bytes of the data set in state (labels, indices, values).
    pub fn data_bytes(&self) -> u64 {
        let (s, k) = (u64::from(self.samples), u64::from(self.nnz));
        4 * s + 8 * s * k
    }

    pub fn validate(&self) -> Result<(), SgdError> {
        let invalid = |what: String| Err(SgdError::Invalid(what));
        if self.workers == 0 {
            return invalid("--workers must be at least 1".into());
        }
        if self.workers > MAX_WORKERS {
            return invalid(format!("--workers must be at most {MAX_WORKERS}"));
        }
        if !(1..=1000).contains(&self.epochs) {
            return invalid("--epochs must be between 1 and 1000".into());
        }
        if self.samples == 0 || self.features == 0 || self.nnz == 0 {
            return invalid("--samples, --features and --nnz must be at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid("--learning-rate must be a positive number".into());
        }
        let state = self.data_bytes() + 4 * u64::from(self.features);
        if state > MAX_STATE_BYTES {
            return invalid(format!(
                "data set and weights take {state} bytes of state, more than the {MAX_STATE_BYTES} allowed"
            ));
        }
        Ok(())
    }
}

/// What a run measured (the `--json` object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgdReport {
    pub workers: u32,
    pub state: StateMode,
    pub epochs: u32,
    pub samples: u32,
    pub features: u32,
    pub nnz: u32,
    /// Wall time of the training call (all epochs, the evaluation round and
    /// the final push), seconds.
    pub time_s: f64,
    /// Peak PSS during training minus PSS before the data was written, MiB
    /// (see `memory`): state, Faaslets and their copies, runtime growth.
    pub peak_mem_mib: f64,
    /// Mean logistic loss over all samples with the final weights.
    pub loss: f64,
    /// Mean loss per epoch, each sample's taken just before its update.
    pub epoch_losses: Vec<f64>,
    /// L2 norm of the weights as the driver saw them at the end: in shared
    /// mode through its own mapping, never pulled or read by copy.
    pub weights_norm: f64,
    /// L2 norm of the weights read back from the global tier.
    pub global_weights_norm: f64,
    /// State the user holds after training, MiB.
    pub state_mib: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum SgdError {
    #[error("unknown --state {0:?}: expected shared or copy")]
    UnknownState(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sgd {phase} failed: {message}")]
    Call {
        phase: &'static str,
        message: String,
    },
    #[error("unexpected output from the sgd driver: {0:?}")]
    Output(String),
    #[error("cannot read the weights from the global tier: {0}")]
    Global(String),
    #[error("cannot measure memory: {0}")]
    Memory(std::io::Error),
    #[error("{0}")]
    StateStore(String),
}

impl SgdError {
    /// Bad input, as opposed to a run that failed.
    pub fn is_usage(&self) -> bool {
        matches!(self, SgdError::UnknownState(_) | SgdError::Invalid(_))
    }
}

/// The executor configuration of a run: the defaults `faasm-run invoke`
/// starts from, with one running call per worker, as N containers would
/// all run at once, and a deadline fit for a long training.
pub fn executor_config(workers: u32) -> ExecutorConfig {
    ExecutorConfig {
        workers: workers as usize,
        limits: Limits {
            timeout: Some(Duration::from_secs(600)),
            ..Limits::default()
        },
        ..ExecutorConfig::default()
    }
}

/// Calls the driver with `input`; its output on success.
fn call(exec: &Executor, phase: &'static str, input: String) -> Result<String, SgdError> {
    let r = exec.invoke(USER, FUNCTION, input.into_bytes());
    let output = String::from_utf8_lossy(&r.output).into_owned();
    if r.failed || r.return_code != 0 {
        return Err(SgdError::Call {
            phase,
            message: output,
        });
    }
    Ok(output)
}

/// The driver's `train` output.
#[derive(Debug, PartialEq)]
struct TrainOutput {
    epoch_losses: Vec<f64>,
    loss: f64,
    weights_norm: f64,
}

fn parse_train(output: &str) -> Result<TrainOutput, SgdError> {
    let bad = || SgdError::Output(output.to_string());
    let mut lines = output.lines();
    let mut line = |name: &str| -> Result<Vec<f64>, SgdError> {
        let rest = lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .ok_or_else(bad)?;
        rest.split_whitespace()
            .map(|w| w.parse().map_err(|_| bad()))
            .collect()
    };
    let epoch_losses = line("epoch_loss")?;
    let loss = line("final_loss ")?;
    let norm = line("weights_norm ")?;
    match (&loss[..], &norm[..]) {
        (&[loss], &[weights_norm]) => Ok(TrainOutput {
            epoch_losses,
            loss,
            weights_norm,
        }),
        _ => Err(bad()),
    }
}

fn norm(bytes: &[u8]) -> f64 {
    bytes
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .map(|w| w * w)
        .sum::<f64>()
        .sqrt()
}

const MIB: f64 = 1024.0 * 1024.0;

/// Runs the demo with the function store of `$FAASM_HOME` and `guest` (the
/// embedded [`GUEST`] unless another build is given).
pub fn run(
    config: &SgdConfig,
    guest: &[u8],
    store: FunctionStore,
    global: Arc<dyn GlobalStore>,
) -> Result<SgdReport, SgdError> {
    config.validate()?;
    let exec = Executor::with_global_state(
        store.clone(),
        executor_config(config.workers),
        global.clone(),
    );
    exec.upload(USER, FUNCTION, guest)?;

    let c = config;
    let m = c.state.letter();
    let before = pss_bytes().map_err(SgdError::Memory)?;
    call(
        &exec,
        "setup",
        format!(
            "setup {m} {} {} {} {}",
            c.seed, c.samples, c.features, c.nnz
        ),
    )?;
    let sampler = PeakSampler::start(SAMPLE_PERIOD).map_err(SgdError::Memory)?;
    let start = Instant::now();
    let trained = call(
        &exec,
        "train",
        format!(
            "train {m} {} {} {} {} {} {}",
            c.workers, c.epochs, c.learning_rate, c.samples, c.features, c.nnz
        ),
    );
    let time_s = start.elapsed().as_secs_f64();
    let peak = sampler.stop().map_err(SgdError::Memory)?;
    let out = parse_train(&trained?)?;
    let state_mib = exec.state().user_bytes(USER) as f64 / MIB;
    drop(exec);

    // A new executor starts with an empty local tier, so this read comes
    // from the global tier.
    let fresh = Executor::with_global_state(store, executor_config(1), global);
    fresh
        .state()
        .fetch("sgd demo", USER, WEIGHTS_KEY, None)
        .map_err(|e| SgdError::Global(e.to_string()))?;
    let global = fresh
        .state()
        .get(USER, WEIGHTS_KEY)
        .ok_or_else(|| SgdError::Global("no weights stored".into()))?;

    Ok(SgdReport {
        workers: c.workers,
        state: c.state,
        epochs: c.epochs,
        samples: c.samples,
        features: c.features,
        nnz: c.nnz,
        time_s,
        peak_mem_mib: peak.saturating_sub(before) as f64 / MIB,
        loss: out.loss,
        epoch_losses: out.epoch_losses,
        weights_norm: out.weights_norm,
        global_weights_norm: norm(&global),
        state_mib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_modes_parse_and_others_are_named_in_the_error() {
        assert_eq!("shared".parse::<StateMode>().unwrap(), StateMode::Shared);
        assert_eq!("copy".parse::<StateMode>().unwrap(), StateMode::Copy);
        let e = "Shared".parse::<StateMode>().unwrap_err();
        assert!(e.is_usage());
        assert_eq!(
            e.to_string(),
            "unknown --state \"Shared\": expected shared or copy"
        );
    }

    #[test]
    fn configs_out_of_range_are_refused() {
        let ok = SgdConfig::new(4, StateMode::Shared);
        ok.validate().unwrap();
        let cases = [
            (
                SgdConfig {
                    workers: 0,
                    ..ok.clone()
                },
                "--workers must be at least 1",
            ),
            (
                SgdConfig {
                    workers: 1025,
                    ..ok.clone()
                },
                "at most 1024",
            ),
            (
                SgdConfig {
                    epochs: 0,
                    ..ok.clone()
                },
                "--epochs",
            ),
            (
                SgdConfig {
                    nnz: 0,
                    ..ok.clone()
                },
                "--nnz",
            ),
            (
                SgdConfig {
                    learning_rate: f64::NAN,
                    ..ok.clone()
                },
                "--learning-rate",
            ),
            (
                SgdConfig {
                    samples: 4_000_000,
                    ..ok.clone()
                },
                "bytes of state",
            ),
        ];
        for (config, needle) in cases {
            let e = config.validate().unwrap_err();
            assert!(e.is_usage() && e.to_string().contains(needle), "{e}");
        }
    }

    #[test]
    fn train_output_is_parsed_and_checked() {
        let out = parse_train("epoch_loss 0.6 0.5\nfinal_loss 0.4\nweights_norm 3\n").unwrap();
        assert_eq!(
            out,
            TrainOutput {
                epoch_losses: vec![0.6, 0.5],
                loss: 0.4,
                weights_norm: 3.0
            }
        );
        for bad in [
            "",
            "epoch_loss x\nfinal_loss 1\nweights_norm 1",
            "epoch_loss 1\nfinal_loss\nweights_norm 1",
        ] {
            assert!(
                matches!(parse_train(bad), Err(SgdError::Output(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn norm_reads_little_endian_floats() {
        let bytes: Vec<u8> = [3.0f32, 4.0].iter().flat_map(|f| f.to_le_bytes()).collect();
        assert_eq!(norm(&bytes), 5.0);
    }
}
