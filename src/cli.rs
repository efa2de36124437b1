//! `faasm-run`: the command-line front end of [`crate::run`].

use crate::run::{self, Outcome, RunError};
use crate::values::format_val;
use clap::Parser;
use faasm_hostif::wasi::WasiCtx;
use faasm_runtime::{ArtifactKey, Config, Engine};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Exit status for every failure of faasm-run itself or of the guest (load,
/// link, bad arguments, traps). The guest's own `exit(n)` is passed through.
pub const EXIT_ERROR: u8 = 1;

const AFTER_HELP: &str = "\
FILE is a binary .wasm module, a .wat text module or a .faasm artifact
compiled by faasmc. The word `demo` runs a hello-world guest built into
faasm-run (`faasm-run demo NAME` greets NAME; `faasm-run --invoke add demo 2 3`).

Exit status: the guest's exit status if it called exit (proc_exit; like a
native process, only its low 8 bits survive), 0 if it returned normally,
1 if faasm-run failed or the guest trapped (with one `faasm-run: error:`
line on stderr), 2 for command-line usage errors.";

/// Runs a WebAssembly module or faasm artifact as a Faaslet, with WASI.
#[derive(Debug, Parser)]
#[command(
    name = "faasm-run",
    version,
    override_usage = "faasm-run [--dir HOST[::GUEST]]... [--env NAME=VALUE]... [--invoke NAME] FILE [ARGS]...",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// Give the guest the host directory HOST, read-write, as GUEST
    /// (default: HOST as written). Repeatable; preopened in order.
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    pub dirs: Vec<(String, String)>,

    /// Call this exported function instead of `_start`; ARGS become its
    /// arguments (parsed per its parameter types) and its results are
    /// printed one per line.
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,

    /// The module to run (`demo` for the built-in one), then the guest's
    /// arguments: argv[1..] (argv[0] is FILE), or with --invoke the
    /// function's arguments. Everything after FILE goes to the guest, even
    /// words that look like options.
    #[arg(value_name = "FILE ARGS", required = true, trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

fn parse_dir(s: &str) -> Result<(String, String), String> {
    let (host, guest) = s.split_once("::").unwrap_or((s, s));
    if host.is_empty() || guest.is_empty() {
        return Err("expected HOST or HOST::GUEST".to_string());
    }
    Ok((host.to_string(), guest.to_string()))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err("expected NAME=VALUE".to_string()),
    }
}

impl Cli {
    /// FILE (clap guarantees there is one).
    pub fn file(&self) -> &OsString {
        &self.command[0]
    }

    /// The words after FILE.
    pub fn args(&self) -> &[OsString] {
        &self.command[1..]
    }
}

fn execute(cli: Cli) -> Result<Outcome, RunError> {
    use std::os::unix::ffi::OsStrExt;
    // Artifacts must carry this installation's tag; only a `.faasm` file
    // is loaded as one, so only then is the key needed.
    let mut config = Config::default();
    if Path::new(cli.file())
        .extension()
        .is_some_and(|e| e == "faasm")
    {
        config.artifact_key = ArtifactKey::installation().map_err(RunError::ArtifactKey)?;
    }
    let engine = Engine::new(config);
    let module = if cli.file() == "demo" {
        run::load_demo(&engine)?
    } else {
        run::load_file(&engine, Path::new(cli.file()))?
    };
    let mut builder = WasiCtx::builder()
        .arg(cli.file().as_bytes())
        .inherit_stdio();
    for (name, value) in &cli.env {
        builder = builder.env(name.as_str(), value.as_str());
    }
    for (host, guest) in &cli.dirs {
        builder = builder.preopen_dir(host, guest.as_str());
    }
    match &cli.invoke {
        None => {
            let builder = builder.args(cli.args().iter().map(|a| a.as_bytes()));
            run::run(&engine, &module, builder.build()?, None)
        }
        Some(name) => {
            // An invoked function gets ARGS as typed values, not as argv.
            let args = cli
                .args()
                .iter()
                .map(|a| a.to_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| RunError::BadArgEncoding(name.clone()))?;
            run::run(&engine, &module, builder.build()?, Some((name, &args)))
        }
    }
}

/// A process exit code for a guest exit status, as a native process would
/// see it: only the low 8 bits survive.
pub fn exit_code(status: i32) -> u8 {
    (status as u32 & 0xff) as u8
}

/// Error messages are one line: a multi-line message from a lower layer
/// is joined.
pub(crate) fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The whole program; `main` only returns this.
pub fn main() -> ExitCode {
    // `upload`, `invoke` and `list` are commands only as the first word:
    // any other FILE (also one named so, given as `./upload`) runs as before.
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "demo") && args.get(2).is_some_and(|a| a == "sgd") {
        return crate::demo::cli::main(args);
    }
    if args.get(1).is_some_and(|a| a == "bench") {
        return crate::bench::main(args);
    }
    if args
        .get(1)
        .is_some_and(|a| crate::executor::cli::COMMANDS.iter().any(|c| a == c))
    {
        return crate::executor::cli::main(args);
    }
    let cli = Cli::parse_from(args);
    match execute(cli) {
        Ok(Outcome::Exited(status)) => ExitCode::from(exit_code(status)),
        Ok(Outcome::Returned(values)) => {
            // Not println!: a closed stdout must be an error line, not a panic.
            let mut out = std::io::stdout().lock();
            let written = values
                .iter()
                .try_for_each(|v| writeln!(out, "{}", format_val(v)))
                .and_then(|_| out.flush());
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("faasm-run: error: cannot write results: {e}");
                    ExitCode::from(EXIT_ERROR)
                }
            }
        }
        Err(e) => {
            eprintln!("faasm-run: error: {}", one_line(&e.to_string()));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_arguments_may_look_like_options() {
        let cli =
            Cli::try_parse_from(["faasm-run", "--env", "A=1", "x.wasm", "-v", "--env", "B=2"])
                .unwrap();
        assert_eq!(cli.env, vec![("A".to_string(), "1".to_string())]);
        assert_eq!(cli.file(), "x.wasm");
        assert_eq!(cli.args(), ["-v", "--env", "B=2"]);
        // Options right after FILE are the guest's too.
        let cli = Cli::try_parse_from(["faasm-run", "x.wasm", "--env", "B=2", "--help"]).unwrap();
        assert!(cli.env.is_empty());
        assert_eq!(cli.args(), ["--env", "B=2", "--help"]);
        let cli = Cli::try_parse_from(["faasm-run", "--invoke", "add", "demo", "-1", "2"]).unwrap();
        assert_eq!(cli.invoke.as_deref(), Some("add"));
        assert_eq!(cli.args(), ["-1", "2"]);
    }

    #[test]
    fn env_needs_a_name_and_an_equals_sign() {
        assert!(Cli::try_parse_from(["faasm-run", "--env", "A", "x.wasm"]).is_err());
        assert!(Cli::try_parse_from(["faasm-run", "--env", "=1", "x.wasm"]).is_err());
        let cli = Cli::try_parse_from(["faasm-run", "--env", "A==", "x.wasm"]).unwrap();
        assert_eq!(cli.env, vec![("A".to_string(), "=".to_string())]);
    }

    #[test]
    fn dir_is_host_with_optional_guest_name() {
        let cli = Cli::try_parse_from(["faasm-run", "--dir", "data", "--dir", "/tmp/x::/y", "x"])
            .unwrap();
        let dirs =
            [("data", "data"), ("/tmp/x", "/y")].map(|(h, g)| (h.to_string(), g.to_string()));
        assert_eq!(cli.dirs, dirs);
        assert!(Cli::try_parse_from(["faasm-run", "--dir", "::/y", "x.wasm"]).is_err());
        assert!(Cli::try_parse_from(["faasm-run", "--dir", "x::", "x.wasm"]).is_err());
    }

    #[test]
    fn exit_codes_keep_the_low_byte() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(3), 3);
        assert_eq!(exit_code(255), 255);
        assert_eq!(exit_code(256), 0);
        assert_eq!(exit_code(-1), 255);
    }

    #[test]
    fn messages_become_one_line() {
        assert_eq!(one_line("a\n  b\n\nc"), "a; b; c");
        assert_eq!(one_line("single"), "single");
    }
}
