//! Runs the official WASI preview 1 conformance suite (wasi-testsuite's
//! prebuilt `NAME.wasm` programs, each with an optional `NAME.json`
//! specification) in process against faasm's runtime and WASI host, as
//! `SPECIFICATION.md` of the suite describes:
//!
//! - every `*.wasm` under the suite folder is a test; its spec gives
//!   arguments, environment, a directory to preopen as the guest's `/`
//!   (copied to a fresh temporary directory first, never used in place:
//!   the suite folder may be read-only, and tests must not see each
//!   other's leftovers; `*.cleanup` files are not copied), the expected
//!   exit code and, when given, the expected stdout and stderr (a stream
//!   is only checked if the spec says what it must hold: the default
//!   operations are `run` and `wait`, with no `read`, as in the suite's
//!   own runner);
//! - both the legacy flat spec and the operation-based one (`run`, `wait`,
//!   `read`) are understood; a test that needs a proposal this runner does
//!   not offer (`connect`/`send`/`recv`, `proposals`) is skipped with that
//!   reason rather than silently dropped;
//! - each test runs on its own thread with a wall-clock limit: compiled
//!   code is interrupted, a guest sleeping in `poll_oneoff` is ended.

use faasm_hostif::wasi::{self, OutputPipe, WasiCtx};
use faasm_runtime::{Config, Engine, Error, Extern, Linker, Module};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one test expects and how it is started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestSpec {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Relative to the test's folder; preopened as `/`.
    pub root: Option<String>,
    pub exit_code: i32,
    /// `None`: not checked.
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// A test's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
    Skip(String),
}

/// One test of the suite.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// `folder/NAME` relative to the suite, for reports.
    pub name: String,
    pub wasm: PathBuf,
    pub spec_file: Option<PathBuf>,
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// Why a spec cannot be run: it asks for something this runner lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    Invalid(String),
    Unsupported(String),
}

fn strings(v: Option<&Value>, what: &str) -> Result<Vec<String>, SpecError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| SpecError::Invalid(format!("{what}: not a string: {i}")))
            })
            .collect(),
        Some(other) => Err(SpecError::Invalid(format!("{what}: not a list: {other}"))),
    }
}

fn env_map(v: Option<&Value>) -> Result<Vec<(String, String)>, SpecError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => Ok((k.clone(), s.to_string())),
                None => Err(SpecError::Invalid(format!("env {k}: not a string"))),
            })
            .collect(),
        Some(other) => Err(SpecError::Invalid(format!("env: not an object: {other}"))),
    }
}

fn opt_string(v: Option<&Value>, what: &str) -> Result<Option<String>, SpecError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(SpecError::Invalid(format!("{what}: not a string: {other}"))),
    }
}

fn exit_code(v: Option<&Value>) -> Result<i32, SpecError> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| SpecError::Invalid(format!("exit_code: not an integer: {n}"))),
    }
}

/// Parses a test specification (legacy or operation-based).
pub fn parse_spec(text: &str) -> Result<TestSpec, SpecError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| SpecError::Invalid(format!("bad JSON: {e}")))?;
    let Value::Object(obj) = &v else {
        return Err(SpecError::Invalid("not a JSON object".into()));
    };
    if let Some(p) = obj.get("proposals") {
        let p = strings(Some(p), "proposals")?;
        if !p.is_empty() {
            return Err(SpecError::Unsupported(format!(
                "needs WASI proposal(s) {}",
                p.join(", ")
            )));
        }
    }
    let Some(ops) = obj.get("operations") else {
        return Ok(TestSpec {
            args: strings(obj.get("args"), "args")?,
            env: env_map(obj.get("env"))?,
            root: opt_string(obj.get("root"), "root")?,
            exit_code: exit_code(obj.get("exit_code"))?,
            stdout: opt_string(obj.get("stdout"), "stdout")?,
            stderr: opt_string(obj.get("stderr"), "stderr")?,
        });
    };
    let Value::Array(ops) = ops else {
        return Err(SpecError::Invalid("operations: not a list".into()));
    };
    let mut spec = TestSpec::default();
    let (mut ran, mut waited) = (false, false);
    for op in ops {
        let kind = op.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "run" if !ran => {
                ran = true;
                spec.args = strings(op.get("args"), "args")?;
                spec.env = env_map(op.get("env"))?;
                spec.root = opt_string(op.get("root"), "root")?;
            }
            "run" => return Err(SpecError::Unsupported("more than one `run`".into())),
            "wait" if ran => {
                waited = true;
                spec.exit_code = exit_code(op.get("exit_code"))?;
            }
            "read" if ran => {
                let payload = opt_string(op.get("payload"), "payload")?.unwrap_or_default();
                match op.get("id").and_then(Value::as_str).unwrap_or("stdout") {
                    "stdout" => spec.stdout.get_or_insert_default().push_str(&payload),
                    "stderr" => spec.stderr.get_or_insert_default().push_str(&payload),
                    other => return Err(SpecError::Invalid(format!("read of stream {other}"))),
                }
            }
            "connect" | "send" | "recv" => {
                return Err(SpecError::Unsupported(format!(
                    "`{kind}` needs network connections to the guest"
                )));
            }
            _ => return Err(SpecError::Invalid(format!("unexpected operation {op}"))),
        }
    }
    if ran != waited {
        return Err(SpecError::Invalid("a `run` without a `wait`".into()));
    }
    Ok(spec)
}

/// Every test under `suite` (its folders, recursively), sorted by name.
pub fn discover(suite: &Path) -> std::io::Result<Vec<TestCase>> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<TestCase>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let ty = entry.file_type()?;
            if ty.is_dir() {
                walk(&path, base, out)?;
            } else if path.extension().is_some_and(|e| e == "wasm") {
                let spec = path.with_extension("json");
                let rel = path.strip_prefix(base).unwrap_or(&path).with_extension("");
                out.push(TestCase {
                    name: rel.to_string_lossy().into_owned(),
                    spec_file: spec.is_file().then_some(spec),
                    wasm: path,
                });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(suite, suite, &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "faasm-wasi-suite-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A test may leave a directory without write permission behind.
        make_writable(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            make_writable(&e.path());
        }
    }
}

/// Copies the tree `from` into `to` (which exists): directories, files and
/// symlinks (as links), owner-writable whatever the source's modes are,
/// leaving out `*.cleanup` leftovers of earlier runs.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ty = entry.file_type()?;
        if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if ty.is_dir() {
            std::fs::create_dir(&dst)?;
            copy_tree(&src, &dst)?;
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755))?;
        } else if src.extension().is_some_and(|e| e == "cleanup") {
            continue;
        } else {
            std::fs::copy(&src, &dst)?;
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}

/// How a guest run ended.
#[derive(Debug)]
struct Ran {
    /// `None` if it trapped (the message is in `error`).
    exit: Option<i32>,
    error: Option<String>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    timed_out: bool,
}

fn run_guest(
    engine: &Engine,
    test: &TestCase,
    spec: &TestSpec,
    root: Option<&Path>,
    timeout: Duration,
) -> Result<Ran, String> {
    let module = Module::from_file(engine, &test.wasm).map_err(|e| format!("cannot load: {e}"))?;
    let out = OutputPipe::new();
    let err = OutputPipe::new();
    let program = test
        .wasm
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut builder = WasiCtx::builder()
        .arg(program)
        .args(spec.args.iter().map(String::as_str))
        .stdout_pipe(out.clone())
        .stderr_pipe(err.clone())
        .deadline(Instant::now() + timeout);
    for (k, v) in &spec.env {
        builder = builder.env(k.as_str(), v.as_str());
    }
    if let Some(root) = root {
        builder = builder.preopen_dir(root, "/");
    }
    let ctx = builder
        .build()
        .map_err(|e| format!("bad WASI setup: {e}"))?;
    let mut linker = Linker::new(engine);
    wasi::add_to_linker(&mut linker, ctx);
    let ended = |e: Error, timed_out: bool| match e {
        Error::Trap(t) if t.exit_status().is_some() => Ran {
            exit: t.exit_status(),
            error: None,
            stdout: out.contents(),
            stderr: err.contents(),
            timed_out,
        },
        other => Ran {
            exit: None,
            error: Some(other.to_string()),
            stdout: out.contents(),
            stderr: err.contents(),
            timed_out,
        },
    };
    let instance = match linker.instantiate(&module) {
        Ok(i) => i,
        Err(e) => return Ok(ended(e, false)),
    };
    let Some(Extern::Func(start)) = instance.get_export("_start") else {
        return Err("the module exports no `_start` function".into());
    };
    let dog = crate::watchdog::Watchdog::new();
    let armed = dog.arm(instance.interrupt_handle(), timeout);
    let result = start.call(&[]);
    let timed_out = armed.disarm();
    Ok(match result {
        Ok(_) => Ran {
            exit: Some(0),
            error: None,
            stdout: out.contents(),
            stderr: err.contents(),
            timed_out,
        },
        Err(e) => ended(e, timed_out),
    })
}

fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let s = String::from_utf8_lossy(bytes);
    let mut s: String = format!("{s:?}");
    if s.len() > MAX {
        let cut = (0..=MAX)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// Runs one test and judges it against its spec.
pub fn run_test(engine: &Engine, test: &TestCase, timeout: Duration) -> Verdict {
    let spec = match &test.spec_file {
        None => TestSpec::default(),
        Some(f) => {
            let text = match std::fs::read_to_string(f) {
                Ok(t) => t,
                Err(e) => return Verdict::Fail(format!("cannot read {}: {e}", f.display())),
            };
            match parse_spec(&text) {
                Ok(s) => s,
                Err(SpecError::Unsupported(why)) => return Verdict::Skip(why),
                Err(SpecError::Invalid(why)) => {
                    return Verdict::Fail(format!("bad spec {}: {why}", f.display()));
                }
            }
        }
    };
    let scratch = match spec.root.as_ref().map(|_| Scratch::new()).transpose() {
        Ok(s) => s,
        Err(e) => return Verdict::Fail(format!("cannot make a scratch directory: {e}")),
    };
    if let (Some(root), Some(scratch)) = (&spec.root, &scratch) {
        let folder = test.wasm.parent().unwrap_or(Path::new("."));
        let src = folder.join(root);
        if let Err(e) = copy_tree(&src, &scratch.0) {
            return Verdict::Fail(format!("cannot copy {}: {e}", src.display()));
        }
    }
    let root = scratch.as_ref().map(|s| s.0.as_path());
    let ran = std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name(format!("wasi:{}", test.name))
            .stack_size(16 << 20)
            .spawn_scoped(s, || run_guest(engine, test, &spec, root, timeout));
        match h {
            Err(e) => Err(format!("cannot spawn the test's thread: {e}")),
            Ok(h) => h
                .join()
                .unwrap_or_else(|_| Err("the runner panicked".into())),
        }
    });
    let ran = match ran {
        Ok(r) => r,
        Err(why) => return Verdict::Fail(why),
    };
    let mut problems = Vec::new();
    if ran.timed_out {
        problems.push(format!("timed out after {} s", timeout.as_secs_f64()));
    }
    match (ran.exit, &ran.error) {
        (Some(code), _) if code == spec.exit_code => {}
        (Some(code), _) => problems.push(format!("exit code {code}, expected {}", spec.exit_code)),
        (None, e) => problems.push(format!(
            "trapped ({}), expected exit code {}",
            e.as_deref().unwrap_or("?"),
            spec.exit_code
        )),
    }
    for (stream, got, want) in [
        ("stdout", &ran.stdout, &spec.stdout),
        ("stderr", &ran.stderr, &spec.stderr),
    ] {
        if let Some(want) = want
            && got != want.as_bytes()
        {
            problems.push(format!(
                "{stream} {}, expected {}",
                shown(got),
                shown(want.as_bytes())
            ));
        }
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        // Unchecked stderr usually says why (a panic message, an assert).
        if spec.stderr.is_none() && !ran.stderr.is_empty() {
            problems.push(format!("stderr {}", shown(&ran.stderr)));
        }
        Verdict::Fail(problems.join("; "))
    }
}

/// The engine tests run on.
pub fn engine() -> Engine {
    Engine::new(Config::default())
}

/// Runs every test of `suite`, calling `report` with each verdict in name
/// order; returns the totals.
pub fn run_suite(
    suite: &Path,
    timeout: Duration,
    mut report: impl FnMut(&TestCase, &Verdict),
) -> std::io::Result<Totals> {
    let tests = discover(suite)?;
    if tests.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no *.wasm tests under {}", suite.display()),
        ));
    }
    let engine = engine();
    let mut totals = Totals::default();
    for test in &tests {
        let verdict = run_test(&engine, test, timeout);
        match &verdict {
            Verdict::Pass => totals.passed += 1,
            Verdict::Fail(_) => totals.failed += 1,
            Verdict::Skip(_) => totals.skipped += 1,
        }
        report(test, &verdict);
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_specs_take_defaults() {
        let s = parse_spec(r#"{"root": "fs-tests.dir"}"#).unwrap();
        assert_eq!(s.root.as_deref(), Some("fs-tests.dir"));
        assert_eq!((s.exit_code, s.stdout, s.stderr), (0, None, None));
        let s = parse_spec(
            r#"{"args": ["a", "b c"], "env": {"x": "1"}, "exit_code": 33, "stdout": "hi"}"#,
        )
        .unwrap();
        assert_eq!(s.args, ["a", "b c"]);
        assert_eq!(s.env, [("x".to_string(), "1".to_string())]);
        assert_eq!((s.exit_code, s.stdout.as_deref()), (33, Some("hi")));
    }

    #[test]
    fn operation_specs() {
        let s = parse_spec(
            r#"{"operations": [{"type": "run", "args": ["x"], "root": "d"},
                {"type": "read", "payload": "out"},
                {"type": "read", "id": "stderr", "payload": "err"},
                {"type": "wait", "exit_code": 2}]}"#,
        )
        .unwrap();
        assert_eq!(s.args, ["x"]);
        assert_eq!(s.root.as_deref(), Some("d"));
        assert_eq!((s.exit_code, s.stdout.as_deref()), (2, Some("out")));
        assert_eq!(s.stderr.as_deref(), Some("err"));
        assert!(matches!(
            parse_spec(r#"{"proposals": ["sockets"], "operations": []}"#),
            Err(SpecError::Unsupported(_))
        ));
        assert!(matches!(
            parse_spec(
                r#"{"operations": [{"type": "run"}, {"type": "connect"}, {"type": "wait"}]}"#
            ),
            Err(SpecError::Unsupported(_))
        ));
        assert!(matches!(
            parse_spec(r#"{"operations": [{"type": "run"}]}"#),
            Err(SpecError::Invalid(_))
        ));
        assert!(matches!(parse_spec("[]"), Err(SpecError::Invalid(_))));
    }

    #[test]
    fn copies_are_writable_and_skip_cleanup_files() {
        use std::os::unix::fs::PermissionsExt;
        let src = Scratch::new().unwrap();
        let dst = Scratch::new().unwrap();
        std::fs::create_dir(src.0.join("d")).unwrap();
        std::fs::write(src.0.join("d/f"), "x").unwrap();
        std::fs::write(src.0.join("old.cleanup"), "").unwrap();
        std::os::unix::fs::symlink("d/f", src.0.join("l")).unwrap();
        std::fs::set_permissions(src.0.join("d/f"), std::fs::Permissions::from_mode(0o444))
            .unwrap();
        std::fs::set_permissions(src.0.join("d"), std::fs::Permissions::from_mode(0o555)).unwrap();
        copy_tree(&src.0, &dst.0).unwrap();
        assert_eq!(std::fs::read_to_string(dst.0.join("l")).unwrap(), "x");
        assert!(!dst.0.join("old.cleanup").exists());
        let mode = std::fs::metadata(dst.0.join("d/f"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o200, 0o200);
        std::fs::write(dst.0.join("d/new"), "").unwrap();
    }
}
