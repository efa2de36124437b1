//! A function store of a test's own: `faasm-run` commands run with
//! `FAASM_HOME` pointing at a fresh directory.

use super::{FAASM_RUN, Run};
use faasm_testutil::scratch_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Home(pub PathBuf);

impl Home {
    pub fn new(name: &str) -> Home {
        Home(scratch_dir(name))
    }

    /// Runs `faasm-run ARGS` on this home, stdin empty.
    pub fn run(&self, args: &[&str]) -> Run {
        faasm_run_in(&self.0, args, None)
    }

    /// Uploads `dir/guest.wasm` as `function` (user/func); must succeed.
    pub fn upload(&self, function: &str, dir: &Path, guest: &str) {
        let wasm = dir.join(format!("{guest}.wasm"));
        let run = self.run(&["upload", function, wasm.to_str().unwrap()]);
        assert_eq!(run.signal, None, "upload {function}: {run:#?}");
        assert_eq!(run.code, Some(0), "upload {function}: {run:#?}");
    }

    pub fn invoke(&self, function: &str, input: &str) -> Run {
        self.run(&["invoke", function, "--input", input])
    }

    /// Invokes `function` and asserts return code 0 and exactly `want` as
    /// the output (`invoke` may add one newline of its own).
    pub fn assert_output(&self, function: &str, input: &str, want: &str) {
        self.invoke(function, input).assert_output(want);
    }
}

/// `faasm-run ARGS` with `$FAASM_HOME` = `home` and `stdin` as its
/// standard input (none: empty).
pub fn faasm_run_in(home: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    use std::io::Write;
    let mut child = Command::new(FAASM_RUN)
        .args(args)
        .env("FAASM_HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("cannot start faasm-run");
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    child.wait_with_output().unwrap().into()
}

impl Run {
    /// The call's output as printed by `invoke`, which may end it with one
    /// newline of its own (the examples' outputs never end with one).
    pub fn output(&self) -> &str {
        self.stdout.strip_suffix('\n').unwrap_or(&self.stdout)
    }

    /// Succeeded (return code 0, no signal) and printed `want` as its
    /// output.
    pub fn assert_output(&self, want: &str) {
        assert_eq!(self.signal, None, "killed by a signal: {self:#?}");
        assert_eq!(self.code, Some(0), "{self:#?}");
        assert_eq!(self.output(), want, "{self:#?}");
    }
}
