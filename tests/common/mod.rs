//! Helpers shared by the integration tests: running the `faasm-run`
//! binary, scratch directories, WAT fixtures, artifacts, example guests.
#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use faasm_testutil::{scratch_dir, wat};
pub use home::{Home, faasm_run_in};

mod home;

pub const FAASM_RUN: &str = env!("CARGO_BIN_EXE_faasm-run");

/// What one `faasm-run` invocation did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        use std::os::unix::process::ExitStatusExt;
        Run {
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn faasm_run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(FAASM_RUN)
        .args(args)
        .env("FAASM_HOME", test_home())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cannot start faasm-run")
        .into()
}

impl Run {
    /// Exited normally with `code`, printing `stdout` exactly.
    pub fn assert_ok(&self, code: i32, stdout: &str) {
        assert_eq!(self.signal, None, "killed by a signal: {self:#?}");
        assert_eq!(self.code, Some(code), "{self:#?}");
        assert_eq!(self.stdout, stdout, "{self:#?}");
    }

    /// Failed the way faasm-run reports errors: exit status 1, nothing on
    /// stdout, exactly one `faasm-run: error:` line on stderr containing
    /// `needle` (and no panic, no signal), followed only by a trap's wasm
    /// backtrace if there is one.
    pub fn assert_error(&self, needle: &str) {
        assert_eq!(self.signal, None, "killed by a signal: {self:#?}");
        assert_eq!(self.code, Some(1), "{self:#?}");
        assert_eq!(self.stdout, "", "{self:#?}");
        let mut lines: Vec<&str> = self.stderr.lines().collect();
        if lines.get(1) == Some(&"wasm backtrace:") {
            let frames = lines.split_off(2);
            assert!(!frames.is_empty(), "an empty backtrace: {self:#?}");
            for f in frames {
                if f.trim_start() == "... (deeper frames not kept)" {
                    continue;
                }
                let (n, frame) = f.trim_start().split_once(": ").expect("numbered frame");
                assert!(n.parse::<usize>().is_ok(), "frame line {f:?}");
                assert!(frame.contains("function "), "frame line {f:?}");
            }
            lines.pop();
        }
        assert_eq!(lines.len(), 1, "expected one error line: {self:#?}");
        assert!(lines[0].starts_with("faasm-run: error: "), "{self:#?}");
        assert!(
            lines[0].contains(needle),
            "expected {needle:?} in {:?}",
            lines[0]
        );
    }
}

/// The `$FAASM_HOME` that [`faasm_run`] runs with (shared by a test
/// binary's tests): its artifact key tags [`artifact`]s.
pub fn test_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| scratch_dir("home"))
}

/// Compiles `wasm` to artifact bytes with the compiler's API (what `faasmc
/// compile` writes), tagged with [`test_home`]'s key so `faasm_run` runs
/// them.
pub fn artifact(wasm: &[u8]) -> Vec<u8> {
    faasm_compiler::compile(wasm, &faasm_compiler::CompileConfig::default())
        .expect("compile")
        .serialize(&installation_key(test_home()))
}

/// The artifact key of the installation at `home` (made on first use).
pub fn installation_key(home: &Path) -> faasm_abi::ArtifactKey {
    faasm_abi::ArtifactKey::load_or_create(&faasm_abi::key::key_path(home)).expect("artifact key")
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The example guests built by `examples/build.sh` (once per test binary):
/// `hello-c.wasm` and `hello-rust.wasm`. A toolchain that cannot be
/// installed here fails the test (see [`required_guests`]).
pub fn examples() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("examples");
        run_checked(
            Command::new("bash")
                .arg(root.join("examples/build.sh"))
                .arg(&out),
        )?;
        Ok(out)
    });
    required_guests("example", built)
}

/// Runs `cmd`; a failure carries its status and output.
pub fn run_checked(cmd: &mut Command) -> Result<(), String> {
    let r = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if r.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\n{}{}",
            r.status,
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        ))
    }
}

/// Installs the guest toolchain (scripts/install-toolchain.sh) unless
/// FAASM_SKIP_INSTALL=1.
pub fn install_toolchain() -> Result<(), String> {
    if std::env::var_os("FAASM_SKIP_INSTALL").is_some_and(|v| v == "1") {
        return Ok(());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    run_checked(Command::new("bash").arg(root.join("scripts/install-toolchain.sh")))
}

/// The directory of the `what` guests built, or a failure that says how
/// to install their toolchain: a test that needs guests never passes
/// without running them.
pub fn required_guests<'a>(what: &str, built: &'a Result<PathBuf, String>) -> &'a Path {
    match built {
        Ok(dir) => dir,
        Err(why) => panic!(
            "{what} guests could not be built (the guest toolchain is missing?): {why}\n\
             Install the toolchain with `bash scripts/install-toolchain.sh` \
             (scripts/test.sh does it first)"
        ),
    }
}

/// Where `faasmc` is: beside `faasm-run` in the same target directory,
/// built there by cargo on demand if this test run has not built it yet.
pub fn faasmc() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let bin_dir = Path::new(FAASM_RUN).parent().unwrap();
        let path = bin_dir.join("faasmc");
        let release = bin_dir.file_name().is_some_and(|d| d == "release");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "faasm-compiler",
            "--bin",
            "faasmc",
        ]);
        if release {
            cmd.arg("--release");
        }
        // Cheap when it is up to date; rebuilds a stale one.
        let status = cmd
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "cannot build faasmc");
        assert!(
            path.exists(),
            "{} missing after building it",
            path.display()
        );
        path
    })
    .clone()
}
