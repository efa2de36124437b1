//! `faasm-run`: the command-line front end of [`crate::run`].

use crate::cache::CompileCache;
use crate::executor::cli::Profile;
use crate::exit::{EXIT_ERROR, EXIT_USAGE, exit_code, report};
use crate::run::{self, Outcome, RunError};
use crate::values::format_val;
use clap::Parser;
use faasm_hostif::wasi::WasiCtx;
use faasm_runtime::{ArtifactKey, Config, Engine};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Every command word of `faasm-run`: `main` dispatches on these, `help
/// COMMAND` accepts them, and a test checks each has a line in the help.
pub const COMMANDS: [&str; 9] = [
    "run", "demo", "upload", "invoke", "list", "serve", "token", "bench", "help",
];

const AFTER_HELP: &str = "\
Commands (recognised only as the first word; give a file named so as ./NAME):
  run FILE [ARGS]...     Run a module as a Faaslet (the default: `faasm-run FILE`)
  demo [NAME]            Run the built-in hello-world guest; `demo sgd` trains with SGD
  upload USER/FUNC FILE  Compile a module (.wasm or .wat) and store it as USER/FUNC
  invoke USER/FUNC       Run a stored function with an input, print its output
  list                   List the stored functions
  serve                  Run the executor behind an HTTP API (users, tokens, metrics)
  token create|revoke    Make or remove an API token for `serve`
  bench WHAT             Cold-start figures of a module; the SGD demo's modes side by side;
                         `bench http`: the HTTP API's calls/s and latency against its floor
  help [COMMAND]         Print this help, or a command's

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

    /// Compile FILE afresh and leave the compile cache
    /// ($FAASM_HOME/cache/compiled) alone.
    #[arg(long)]
    pub no_cache: bool,

    /// Describe the guest's code for a profiler: `perfmap` writes
    /// /tmp/perf-PID.map, from which `perf report` names wasm functions.
    #[arg(long, value_name = "STRATEGY")]
    pub profile: Option<Profile>,

    /// The module to run (`demo` for the built-in one), then the guest's
    /// arguments: `argv[1..]` (`argv[0]` is FILE), or with --invoke the
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
    let mut config = Config {
        profiling: Profile::strategy(cli.profile),
        ..Config::default()
    };
    let path = Path::new(cli.file());
    let is_artifact = path.extension().is_some_and(|e| e == "faasm");
    if is_artifact {
        config.artifact_key = ArtifactKey::installation().map_err(RunError::ArtifactKey)?;
    }
    // A module (not an artifact, not the demo) goes through the compile
    // cache, whose entries carry the installation's tag.
    let use_cache = !(is_artifact || cli.file() == "demo" || cli.no_cache);
    let cache = match use_cache {
        true => CompileCache::installation()
            .zip(ArtifactKey::installation().ok())
            .map(|(cache, key)| {
                config.artifact_key = key;
                cache
            }),
        false => None,
    };
    let engine = Engine::new(config);
    let module = if cli.file() == "demo" {
        run::load_demo(&engine)?
    } else if let Some(cache) = &cache {
        run::load_file_cached(&engine, path, cache)?
    } else {
        run::load_file(&engine, path)?
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

/// The flags `faasm-run FILE` takes before FILE, for spotting a misspelt
/// one after it.
const RUN_FLAGS: [&str; 7] = [
    "--env",
    "--dir",
    "--invoke",
    "--no-cache",
    "--profile",
    "--help",
    "--version",
];

/// Edit distance (insertions, deletions, substitutions) between two short
/// words.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur.push(subst.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The faasm-run flag a guest argument is probably a misspelling of.
/// Arguments after FILE belong to the guest (the README promises so), so
/// this only feeds a note; an exact flag name is taken as meant for the
/// guest.
pub fn misspelt_flag(arg: &str) -> Option<&'static str> {
    let word = arg.split_once('=').map_or(arg, |(w, _)| w);
    if !word.starts_with("--") || word.len() < 4 {
        return None;
    }
    RUN_FLAGS
        .iter()
        .filter(|f| **f != word)
        .map(|f| (edit_distance(word, f), *f))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, f)| f)
}

/// `faasm-run help [COMMAND]`: the help text of the whole program or of one
/// command, printed by that command's own parser.
fn help(args: &[OsString]) -> ExitCode {
    let prog = args[0].clone();
    let with_help = |words: &[&str]| {
        let mut a = vec![prog.clone()];
        a.extend(words.iter().map(OsString::from));
        a.push("--help".into());
        a
    };
    match args.get(2).and_then(|c| c.to_str()) {
        None | Some("run" | "help") => dispatch(vec![prog, "--help".into()]),
        Some("demo") if args.get(3).is_some_and(|a| a == "sgd") => {
            dispatch(with_help(&["demo", "sgd"]))
        }
        // The hello-world demo takes no flags: its help is the main one's
        // lines about it.
        Some("demo") => {
            println!(
                "faasm-run demo [NAME]: run the built-in hello-world guest (greets NAME)\n\
                 faasm-run --invoke add demo A B: call its `add` export\n\
                 faasm-run demo sgd [OPTIONS]: the SGD demo (faasm-run help demo sgd)"
            );
            ExitCode::SUCCESS
        }
        Some(cmd) if COMMANDS.contains(&cmd) => dispatch(with_help(&[cmd])),
        _ => {
            eprintln!(
                "error: unknown command {:?}; the commands are {}",
                args[2],
                COMMANDS.join(", ")
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The whole program; `main` only returns this.
pub fn main() -> ExitCode {
    dispatch(std::env::args_os().collect())
}

fn dispatch(mut args: Vec<OsString>) -> ExitCode {
    // Command words count only as the first word: any other FILE (also one
    // named so, given as `./upload`) runs as before.
    if args.get(1).is_some_and(|a| a == "help") {
        return help(&args);
    }
    if args.get(1).is_some_and(|a| a == "run") {
        args.remove(1);
    }
    if args.get(1).is_some_and(|a| a == "demo") && args.get(2).is_some_and(|a| a == "sgd") {
        return crate::demo::cli::main(args);
    }
    if args.get(1).is_some_and(|a| a == "bench") {
        if args.get(2).is_some_and(|a| a == "http") {
            return crate::server::bench::main(args);
        }
        return crate::bench::main(args);
    }
    if args.get(1).is_some_and(|a| a == "serve") {
        return crate::server::cli::main(args);
    }
    if args.get(1).is_some_and(|a| a == "token") {
        return crate::server::cli::token_main(args);
    }
    if args
        .get(1)
        .is_some_and(|a| crate::executor::cli::COMMANDS.iter().any(|c| a == c))
    {
        return crate::executor::cli::main(args);
    }
    let cli = Cli::parse_from(args);
    for arg in cli.args() {
        if let Some(flag) = arg.to_str().and_then(misspelt_flag) {
            eprintln!(
                "faasm-run: note: {arg:?} comes after FILE, so it goes to the guest; \
                 for faasm-run's {flag}, put it before FILE"
            );
        }
    }
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
            eprintln!("faasm-run: error: {}", report(&e.to_string()));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasm_runtime::ProfilingStrategy;

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
    fn profile_takes_known_strategies_only() {
        let cli = Cli::try_parse_from(["faasm-run", "--profile", "perfmap", "x.wasm"]).unwrap();
        assert_eq!(cli.profile, Some(Profile::Perfmap));
        assert_eq!(Profile::strategy(cli.profile), ProfilingStrategy::PerfMap);
        let cli = Cli::try_parse_from(["faasm-run", "x.wasm"]).unwrap();
        assert_eq!(Profile::strategy(cli.profile), ProfilingStrategy::None);
        let err = Cli::try_parse_from(["faasm-run", "--profile", "vtune", "x.wasm"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(err.to_string().contains("perfmap"), "{err}");
    }

    #[test]
    fn help_lists_every_command() {
        for cmd in COMMANDS {
            assert!(AFTER_HELP.contains(&format!("\n  {cmd} ")), "{cmd}");
        }
    }

    #[test]
    fn near_misses_of_flags_are_spotted() {
        assert_eq!(misspelt_flag("--dri"), Some("--dir"));
        assert_eq!(misspelt_flag("--invok"), Some("--invoke"));
        assert_eq!(misspelt_flag("--envv=A=1"), Some("--env"));
        // Exact flags are the guest's on purpose; other words are not flags.
        assert_eq!(misspelt_flag("--env"), None);
        assert_eq!(misspelt_flag("--verbose"), None);
        assert_eq!(misspelt_flag("-v"), None);
        assert_eq!(misspelt_flag("dir"), None);
    }
}
