//! `faasm-run upload | invoke | list`: the function store and executor on
//! the command line. Recognised only as the first word (see `crate::cli`),
//! so `faasm-run FILE` keeps working for any other FILE.

use super::{Executor, ExecutorConfig, FunctionStore, Limits, StoreError, store};
use clap::{Parser, Subcommand};
use faasm_hostif::faasm::global::{self, GlobalError, GlobalStore, RedisOptions};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The words that select this front end.
pub const COMMANDS: [&str; 3] = ["upload", "invoke", "list"];

#[derive(Debug, Parser)]
#[command(
    name = "faasm-run",
    about = "The Faasm function store ($FAASM_HOME, default ~/.faasm) and executor"
)]
pub struct ExecCli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile a module (.wasm or .wat) and store it as USER/FUNC.
    Upload {
        #[arg(value_name = "USER/FUNC", value_parser = function_name)]
        function: String,
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        state: StateStoreArg,
        #[command(flatten)]
        remote: RemoteArg,
    },
    /// Run USER/FUNC, print its output; the exit status is its return code.
    Invoke {
        #[arg(value_name = "USER/FUNC", value_parser = function_name)]
        function: String,
        /// The call's input (default: stdin when it is not a terminal).
        #[arg(long, value_name = "TEXT", conflicts_with = "input_file")]
        input: Option<String>,
        /// Read the call's input from a file.
        #[arg(long, value_name = "FILE")]
        input_file: Option<PathBuf>,
        /// Calls that run at once (default: the number of cores).
        #[arg(conflicts_with = "remote", long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        workers: Option<u32>,
        /// Wall-clock limit per call in milliseconds (0: none).
        #[arg(
            conflicts_with = "remote",
            long,
            value_name = "MS",
            default_value_t = 60_000
        )]
        timeout_ms: u64,
        /// Output limit per call in bytes.
        #[arg(conflicts_with = "remote", long, value_name = "BYTES", default_value_t = faasm_hostif::faasm::DEFAULT_OUTPUT_LIMIT)]
        max_output: usize,
        /// Linear-memory limit per Faaslet in bytes.
        #[arg(conflicts_with = "remote", long, value_name = "BYTES")]
        max_memory: Option<u64>,
        /// Instantiate and initialise the module for every call instead of
        /// restoring its Proto-Faaslet (for comparison).
        #[arg(conflicts_with = "remote", long)]
        no_snapshots: bool,
        /// Describe the function's code for a profiler: `perfmap` writes
        /// /tmp/perf-PID.map, from which `perf report` names wasm functions.
        #[arg(conflicts_with = "remote", long, value_name = "STRATEGY")]
        profile: Option<Profile>,
        #[command(flatten)]
        state: StateStoreArg,
        #[command(flatten)]
        remote: RemoteArg,
    },
    /// List the stored functions, one USER/FUNC per line.
    List,
}

/// A well-formed USER/FUNC, checked by clap so that a malformed one is a
/// usage error (exit status 2) like any other bad argument.
fn function_name(s: &str) -> Result<String, String> {
    store::parse_function(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// `--remote URL [--token T]`: run the command against a `faasm-run serve`
/// instead of the local store. The executor's own settings are then the
/// server's, so the flags that set them locally are refused with it
/// (`conflicts_with` on the commands' own flags).
#[derive(Debug, clap::Args)]
pub struct RemoteArg {
    /// A `faasm-run serve` to use instead of the local store
    /// (http://HOST:PORT).
    #[arg(long, value_name = "URL", conflicts_with = "url")]
    remote: Option<String>,
    /// The API token for --remote.
    #[arg(long, value_name = "TOKEN", requires = "remote")]
    token: Option<String>,
}

impl RemoteArg {
    fn client(&self) -> Option<crate::server::client::Client> {
        self.remote
            .as_deref()
            .map(|url| crate::server::client::Client::new(url, self.token.as_deref()))
    }
}

/// `--profile STRATEGY` of `faasm-run FILE`, `invoke` and `serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// /tmp/perf-PID.map for `perf record` / `perf report`.
    Perfmap,
}

impl Profile {
    /// The engine setting for `--profile` given as `profile`.
    pub fn strategy(profile: Option<Profile>) -> faasm_runtime::ProfilingStrategy {
        match profile {
            None => faasm_runtime::ProfilingStrategy::None,
            Some(Profile::Perfmap) => faasm_runtime::ProfilingStrategy::PerfMap,
        }
    }
}

/// Where the global state tier is, for the commands that run functions.
#[derive(Debug, clap::Args)]
pub struct StateStoreArg {
    /// The global state tier: redis://HOST:PORT (default: $FAASM_STATE_STORE,
    /// else the embedded store under $FAASM_HOME/state).
    #[arg(long = "state-store", value_name = "URL")]
    url: Option<String>,
}

impl StateStoreArg {
    /// Opens the store the flag, else the environment, names. Redis is
    /// connected now: a server that does not answer is the command's error
    /// (the embedded store is never used instead). The Redis lock expiry
    /// comes from `FAASM_STATE_LOCK_TTL_MS` (default 60,000).
    pub(crate) fn open(&self, home: &std::path::Path) -> Result<Arc<dyn GlobalStore>, CliError> {
        let env = std::env::var(global::STATE_STORE_ENV)
            .ok()
            .filter(|v| !v.is_empty());
        let url = self.url.clone().or(env);
        let mut opts = RedisOptions::default();
        if let Ok(ms) = std::env::var(global::LOCK_TTL_ENV) {
            let ms: u64 = ms
                .parse()
                .ok()
                .filter(|ms| *ms > 0)
                .ok_or_else(|| CliError::BadEnv {
                    name: global::LOCK_TTL_ENV,
                    value: ms.clone(),
                })?;
            opts.lock_ttl = Duration::from_millis(ms);
        }
        Ok(global::open(url.as_deref(), home, opts)?)
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    State(#[from] GlobalError),
    #[error("${name} must be a positive number of milliseconds, not {value:?}")]
    BadEnv { name: &'static str, value: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: invalid WebAssembly text: {message}")]
    Wat {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error(
        "{path} is C/C++ source; compile it to WebAssembly first (clang --target=wasm32-wasi -I sdk/c -o FUNC.wasm {path}, see the README), then upload the .wasm"
    )]
    Source { path: String },
    #[error(
        "{path} is a compiled faasm artifact; upload the .wasm (or .wat) it was compiled from: upload compiles it itself"
    )]
    Artifact { path: String },
    #[error("cannot write output: {0}")]
    Write(std::io::Error),
    #[error("{function}: {message}")]
    CallFailed { function: String, message: String },
    #[error(transparent)]
    Remote(#[from] crate::server::client::ClientError),
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The module bytes of FILE: binary as is, `.wat` (or any file that is not
/// binary wasm but parses as text) compiled from text.
fn module_bytes(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    let bytes = read(path)?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    let shown = path.display().to_string();
    // The two likely mix-ups, told apart before they fail as bad text.
    if bytes.starts_with(faasm_abi::ARTIFACT_MAGIC) {
        return Err(CliError::Artifact { path: shown });
    }
    if crate::run::is_source(path) {
        return Err(CliError::Source { path: shown });
    }
    let text = String::from_utf8_lossy(&bytes);
    let encoded = wast::parser::ParseBuffer::new(&text)
        .and_then(|buf| wast::parser::parse::<wast::Wat>(&buf).and_then(|mut w| w.encode()));
    encoded.map_err(|e| {
        let (line, col) = e.span().linecol_in(&text);
        CliError::Wat {
            path: shown,
            line: line + 1,
            col: col + 1,
            message: e.message(),
        }
    })
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(CliError::Write)
}

fn upload_line(
    user: &str,
    func: &str,
    artifact: &str,
    artifact_bytes: u64,
    wasm: &str,
    wasm_bytes: u64,
) -> String {
    format!(
        "uploaded {user}/{func}: {artifact} ({artifact_bytes} bytes), {wasm} ({wasm_bytes} bytes)\n"
    )
}

/// A finished call as the command shows it: output on stdout and the
/// return code as exit status, or what it printed and then the error.
fn show_call(
    function: String,
    failed: Option<String>,
    output: &[u8],
    code: i32,
) -> Result<u8, CliError> {
    write_stdout(output)?;
    match failed {
        Some(message) => Err(CliError::CallFailed { function, message }),
        None => Ok(crate::exit::exit_code(code)),
    }
}

fn read_input(input: Option<String>, input_file: Option<PathBuf>) -> Result<Vec<u8>, CliError> {
    Ok(match (input, input_file) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(path)) => read(&path)?,
        (None, None) if !std::io::stdin().is_terminal() => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|source| CliError::Read {
                    path: "stdin".into(),
                    source,
                })?;
            buf
        }
        (None, None) => Vec::new(),
    })
}

fn execute(cli: ExecCli) -> Result<u8, CliError> {
    // The remote commands need no local store.
    match &cli.command {
        Command::Upload {
            function,
            file,
            remote,
            ..
        } if let Some(client) = remote.client() => {
            let (user, func) = store::parse_function(function)?;
            let wasm = module_bytes(file)?;
            let up = client.upload(&user, &func, &wasm)?;
            let line = upload_line(
                &user,
                &func,
                &up.artifact,
                up.artifact_bytes,
                &up.wasm,
                up.wasm_bytes,
            );
            write_stdout(line.as_bytes())?;
            return Ok(0);
        }
        Command::Invoke {
            function,
            remote,
            input,
            input_file,
            ..
        } if let Some(client) = remote.client() => {
            let (user, func) = store::parse_function(function)?;
            let input = read_input(input.clone(), input_file.clone())?;
            return match client.invoke(&user, &func, &input)? {
                crate::server::client::Invoked::Returned { code, output } => {
                    show_call(function.clone(), None, &output, code)
                }
                crate::server::client::Invoked::Failed { message, printed } => {
                    show_call(function.clone(), Some(message), &printed, 1)
                }
            };
        }
        _ => {}
    }
    let store = FunctionStore::from_env()?;
    match cli.command {
        Command::Upload {
            function,
            file,
            state,
            remote: _,
        } => {
            let (user, func) = store::parse_function(&function)?;
            let wasm = module_bytes(&file)?;
            let global = state.open(store.home())?;
            let exec = Executor::with_global_state(store, ExecutorConfig::default(), global);
            let stored = exec.upload(&user, &func, &wasm)?;
            let msg = upload_line(
                &user,
                &func,
                &stored.artifact.display().to_string(),
                stored.artifact_bytes as u64,
                &stored.wasm.display().to_string(),
                wasm.len() as u64,
            );
            write_stdout(msg.as_bytes())?;
            Ok(0)
        }
        Command::List => {
            let mut text = String::new();
            for (user, func) in store.list()? {
                text.push_str(&format!("{user}/{func}\n"));
            }
            write_stdout(text.as_bytes())?;
            Ok(0)
        }
        Command::Invoke {
            function,
            input,
            input_file,
            workers,
            timeout_ms,
            max_output,
            max_memory,
            no_snapshots,
            profile,
            state,
            remote: _,
        } => {
            let (user, func) = store::parse_function(&function)?;
            let input = read_input(input, input_file)?;
            let mut config = ExecutorConfig {
                limits: Limits {
                    timeout: (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms)),
                    max_output,
                    max_memory,
                    ..Limits::default()
                },
                snapshots: !no_snapshots,
                profiling: Profile::strategy(profile),
                ..ExecutorConfig::default()
            };
            if let Some(w) = workers {
                config.workers = w as usize;
            }
            let global = state.open(store.home())?;
            let exec = Executor::with_global_state(store, config, global);
            // An unknown function is the command's error, not the call's.
            exec.has_snapshot(&user, &func)?;
            let result = exec.invoke(&user, &func, input);
            if result.failed {
                // What the function printed before it failed often says
                // why: it goes to stdout as on success, the error after it.
                let message = String::from_utf8_lossy(&result.output).into_owned();
                return show_call(function, Some(message), &result.printed, 1);
            }
            show_call(function, None, &result.output, result.return_code)
        }
    }
}

/// Runs `faasm-run upload|invoke|list ...` (`args` without the program
/// name is what clap sees after it).
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = ExecCli::parse_from(args);
    match execute(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("faasm-run: error: {}", crate::exit::report(&e.to_string()));
            ExitCode::from(crate::exit::EXIT_ERROR)
        }
    }
}
