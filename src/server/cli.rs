//! `faasm-run serve [...]` and `faasm-run token create|revoke|list`.

use super::api::ApiConfig;
use super::http::HttpOptions;
use super::{ServeError, ServeOptions, auth};
use crate::executor::cli::StateStoreArg;
use crate::executor::{Executor, ExecutorConfig, FunctionStore, Limits};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Runs the executor behind an HTTP API until SIGTERM or Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "faasm-run serve")]
pub struct ServeCli {
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Calls that run at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    workers: Option<u32>,
    #[command(flatten)]
    state: StateStoreArg,
    /// Serve without tokens, every request acting as an admin. Refused on
    /// any address but loopback.
    #[arg(long)]
    insecure_no_auth: bool,
    /// Largest request body (upload, input, state value) in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    max_body: usize,
    /// Calls of one user in flight at once; one more gets 429.
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_calls_per_user: usize,
    /// Calls in flight at once over all users; one more gets 429.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_calls: usize,
    /// Open connections at once; one more gets 503 and is closed.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    max_connections: usize,
    /// Wall-clock limit per call in milliseconds (0: none); 504 past it.
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    timeout_ms: u64,
    /// Output limit per call in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = faasm_hostif::faasm::DEFAULT_OUTPUT_LIMIT)]
    max_output: usize,
    /// Linear-memory limit per Faaslet in bytes.
    #[arg(long, value_name = "BYTES")]
    max_memory: Option<u64>,
    /// Time a client has to send a request's headers, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// On SIGTERM/Ctrl-C, time running calls get to finish, in
    /// milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    grace_ms: u64,
    /// Finished async calls whose result is kept for GET /v1/calls/{id}.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    keep_async: usize,
    /// Describe the functions' code for a profiler: `perfmap` writes
    /// /tmp/perf-PID.map, from which `perf report` names wasm functions.
    #[arg(long, value_name = "STRATEGY")]
    profile: Option<crate::executor::cli::Profile>,
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Exec(#[from] crate::executor::cli::CliError),
    #[error(transparent)]
    Store(#[from] crate::executor::StoreError),
    #[error(transparent)]
    Token(#[from] auth::TokenError),
}

fn init_logs() {
    // FAASM_LOG=warn (say) quiets the per-call lines.
    let filter = tracing_subscriber::EnvFilter::try_from_env("FAASM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn serve(cli: ServeCli) -> Result<(), CliError> {
    if cli.insecure_no_auth && !super::is_loopback(&cli.listen)? {
        return Err(ServeError::NoAuthNotLoopback(cli.listen).into());
    }
    init_logs();
    let store = FunctionStore::from_env()?;
    let global = cli.state.open(store.home())?;
    let mut config = ExecutorConfig {
        limits: Limits {
            timeout: (cli.timeout_ms > 0).then(|| Duration::from_millis(cli.timeout_ms)),
            max_output: cli.max_output,
            max_memory: cli.max_memory,
            ..Limits::default()
        },
        profiling: crate::executor::cli::Profile::strategy(cli.profile),
        ..ExecutorConfig::default()
    };
    if let Some(w) = cli.workers {
        config.workers = w as usize;
    }
    // The executor admits whatever the server admitted (plus the calls
    // those chain): the server's 429 is the bound, not its queue.
    config.max_calls = config.max_calls.max(cli.max_calls);
    config.calls.max_calls_per_user = config.calls.max_calls_per_user.max(cli.max_calls_per_user);
    let exec = Arc::new(Executor::with_global_state(store, config, global));
    let opts = ServeOptions {
        http: HttpOptions {
            header_timeout: Duration::from_millis(cli.header_timeout_ms.max(1)),
            max_connections: cli.max_connections,
            grace: Duration::from_millis(cli.grace_ms),
        },
        api: ApiConfig {
            max_body: cli.max_body,
            no_auth: cli.insecure_no_auth,
        },
        max_calls_per_user: cli.max_calls_per_user,
        max_calls: cli.max_calls,
        keep_async: cli.keep_async,
    };
    let app = super::app(exec, &opts)?;
    if let Some(t) = &app.tokens
        && t.count() == 0
    {
        tracing::warn!(
            "no tokens yet: every request but /healthz gets 401 until `faasm-run token create USER`"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&cli.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: cli.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: cli.listen.clone(),
            source,
        })?;
        // The first line on stdout: scripts (and the tests) read the port
        // from it when listening on port 0.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "faasm-run serve: listening on http://{addr}");
        let _ = out.flush();
        drop(out);
        tracing::info!(%addr, auth = !cli.insecure_no_auth, "listening");
        super::serve(listener, app, &opts).await
    })?;
    // Workers still busy past the grace period are not waited for.
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// Runs `faasm-run serve ...` (`args[0]` the program, `args[1]` "serve").
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = ServeCli::parse_from(
        std::iter::once("faasm-run serve".into()).chain(args.into_iter().skip(2)),
    );
    match serve(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faasm-run: error: {}", crate::exit::report(&e.to_string()));
            ExitCode::from(crate::exit::EXIT_ERROR)
        }
    }
}

/// Manages the API tokens under $FAASM_HOME (stored hashed).
#[derive(Debug, Parser)]
#[command(name = "faasm-run token")]
pub struct TokenCli {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Make a token for USER; it is printed once, as the last line.
    Create {
        #[arg(value_name = "USER")]
        user: String,
        /// The token reaches every user's functions, state and calls.
        #[arg(long)]
        admin: bool,
    },
    /// Remove a token, given as itself or by its id.
    Revoke {
        #[arg(value_name = "TOKEN|ID")]
        token: String,
    },
    /// List the tokens' ids, users and roles (never the tokens).
    List,
}

fn token(cli: TokenCli) -> Result<String, CliError> {
    let store = FunctionStore::from_env()?;
    let home = store.home();
    Ok(match cli.command {
        TokenCommand::Create { user, admin } => {
            let (e, token) = auth::create(home, &user, admin)?;
            let role = if admin { "admin" } else { "user" };
            format!(
                "created token {} for {role} {user} (shown once; only its hash is kept)\n{token}\n",
                e.id
            )
        }
        TokenCommand::Revoke { token } => {
            let e = auth::revoke(home, &token)?;
            format!("revoked token {} of {}\n", e.id, e.user)
        }
        TokenCommand::List => auth::list(home)?
            .iter()
            .map(|e| {
                let role = if e.admin { "admin" } else { "user" };
                format!("{} {} {role}\n", e.id, e.user)
            })
            .collect(),
    })
}

/// Runs `faasm-run token ...`.
pub fn token_main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = TokenCli::parse_from(
        std::iter::once("faasm-run token".into()).chain(args.into_iter().skip(2)),
    );
    match token(cli) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("faasm-run: error: cannot write output: {e}");
                    ExitCode::from(crate::exit::EXIT_ERROR)
                }
            }
        }
        Err(e) => {
            eprintln!("faasm-run: error: {}", crate::exit::report(&e.to_string()));
            ExitCode::from(crate::exit::EXIT_ERROR)
        }
    }
}
