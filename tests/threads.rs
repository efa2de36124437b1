//! wasi-threads through `faasm-run`: the multi-threaded example guests
//! (examples/c/threads.c, examples/threads-rust) built with real toolchains,
//! and hand-written modules for the edges: the thread limit, a trap or an
//! exit in a spawned thread, the main function returning while threads
//! still run.

mod common;

use common::{Run, artifact, install_toolchain, required_guests, run_checked, scratch_dir, write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Every run here must end on its own: a hang is a failure, not a stuck CI.
fn faasm_run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let mut child = Command::new(common::FAASM_RUN)
        .env("FAASM_HOME", common::test_home())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start faasm-run");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("faasm-run did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap().into()
}

/// `threads-c.wasm` and `threads-rust.wasm`, built once per test binary (a
/// missing toolchain fails the test).
fn guests() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("threads-examples");
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        install_toolchain()?;
        // No pthreads in Debian's wasi-libc: the C guest spawns threads
        // itself (see the comment at the top of threads.c).
        let link = "-Wl,--shared-memory,--import-memory,--max-memory=8388608,--no-check-features";
        let mut clang = Command::new("clang");
        clang
            .args(["--target=wasm32-wasi", "-mexec-model=reactor", "-O2"])
            .args(["-matomics", "-mbulk-memory", link])
            .arg(root.join("examples/c/threads.c"))
            .arg("-o")
            .arg(out.join("threads-c.wasm"));
        run_checked(&mut clang)?;
        // Its own target directory: the guest must not lock the host's.
        let target = out.join("threads-rust-target");
        run_checked(
            Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--release", "--target"])
                .arg("wasm32-wasip1-threads")
                .arg("--manifest-path")
                .arg(root.join("examples/threads-rust/Cargo.toml"))
                .env("CARGO_TARGET_DIR", &target),
        )?;
        std::fs::copy(
            target.join("wasm32-wasip1-threads/release/threads-rust.wasm"),
            out.join("threads-rust.wasm"),
        )
        .map_err(|e| e.to_string())?;
        Ok(out)
    });
    required_guests("thread example", built)
}

fn expected_sum(n: u32) -> String {
    format!("sum of 1..1000000 with {n} threads = 500000500000 (ok)\n")
}

#[test]
fn c_guest_sums_in_parallel() {
    let dir = guests();
    let wasm = dir.join("threads-c.wasm");
    for n in [1, 2, 4, 16] {
        faasm_run(&[wasm.to_str().unwrap(), &n.to_string()]).assert_ok(0, &expected_sum(n));
    }
    // The same through an artifact (compiled ahead of time).
    let out = scratch_dir("threads-c");
    let faasm = write(
        &out,
        "threads-c.faasm",
        &artifact(&std::fs::read(&wasm).unwrap()),
    );
    faasm_run(&[faasm.to_str().unwrap(), "3"]).assert_ok(0, &expected_sum(3));
    // More threads than the guest has stacks for: its own error, status 2.
    let r = faasm_run(&[wasm.to_str().unwrap(), "17"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(2), ""), "{r:#?}");
}

#[test]
fn rust_guest_sums_in_parallel() {
    let dir = guests();
    let wasm = dir.join("threads-rust.wasm");
    for n in [1, 2, 4, 8] {
        faasm_run(&[wasm.to_str().unwrap(), &n.to_string()]).assert_ok(0, &expected_sum(n));
    }
}

/// A wasi-threads module: shared memory, spawn import, start export.
/// `$start` is the body of `wasi_thread_start (param $tid i32) (param
/// $arg i32)`; `$rest` more fields.
fn module(start: &str, rest: &str) -> String {
    format!(
        r#"(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32) {start})
  ;; Blocks until the word at 0 is non-zero.
  (func $park
    (loop $l
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
              (br $l)))))
  {rest})"#
    )
}

/// Runs `text` as `faasm-run OPTIONS FILE`.
fn run_wat(name: &str, text: &str, options: &[&str]) -> Run {
    let path = write(&scratch_dir(name), &format!("{name}.wat"), text.as_bytes());
    let mut all: Vec<String> = options.iter().map(|s| s.to_string()).collect();
    all.push(path.to_str().unwrap().to_string());
    faasm_run(&all)
}

#[test]
fn spawning_past_the_limit_returns_eagain() {
    // Spawns parked threads until refused; returns how many started, the
    // refusal, and whether thread ids were positive and increasing.
    let text = module(
        "call $park",
        r#"(func (export "spawn_all") (result i32 i32 i32)
      (local $n i32) (local $r i32) (local $last i32) (local $ok i32)
      (local.set $ok (i32.const 1))
      (block $done
        (loop $l
          (local.set $r (call $spawn (i32.const 0)))
          (br_if $done (i32.lt_s (local.get $r) (i32.const 0)))
          (if (i32.le_s (local.get $r) (local.get $last)) (then (local.set $ok (i32.const 0))))
          (local.set $last (local.get $r))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $n) (i32.const 1000)))))
      (i32.atomic.store (i32.const 0) (i32.const 1))
      (drop (memory.atomic.notify (i32.const 0) (i32.const -1)))
      (local.get $n) (local.get $r) (local.get $ok))"#,
    );
    run_wat("limit", &text, &["--invoke", "spawn_all"]).assert_ok(0, "64\n-6\n1\n");
}

#[test]
fn a_trap_in_a_thread_fails_the_run() {
    // The main thread waits forever for a thread that traps: the run must
    // still end, with the thread's trap.
    let text = module(
        "unreachable",
        r#"(func (export "_start")
      (drop (call $spawn (i32.const 0)))
      (call $park))"#,
    );
    run_wat("trap", &text, &[]).assert_error("unreachable");
}

#[test]
fn an_exit_in_a_thread_ends_the_run_with_its_status() {
    let text = module(
        "(call $exit (i32.const 7))",
        r#"(func (export "_start")
      (drop (call $spawn (i32.const 0)))
      (call $park))"#,
    );
    let r = run_wat("exit", &text, &[]);
    assert_eq!((r.code, r.signal), (Some(7), None), "{r:#?}");
}

#[test]
fn main_returning_ends_the_run_while_threads_still_run() {
    // Threads spin forever (and one is parked): the run ends when `_start`
    // returns, with its status.
    let text = module(
        "(if (local.get $arg) (then (call $park))) (loop $l (br $l))",
        r#"(func (export "_start")
      (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
      (if (i32.le_s (call $spawn (i32.const 1)) (i32.const 0)) (then unreachable)))"#,
    );
    run_wat("detach", &text, &[]).assert_ok(0, "");
}

#[test]
fn a_thread_module_without_a_start_export_is_refused() {
    let text = r#"(module
      (import "env" "memory" (memory 1 1 shared))
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (func (export "_start")))"#;
    run_wat("nostart", text, &[]).assert_error("wasi_thread_start");
}

#[test]
fn a_start_function_that_spawns_cannot_pass_the_limit() {
    // The module's start function spawns a thread, whose instance runs the
    // start function again, before that thread is registered as running:
    // threads still being made must count against the limit too, or this
    // recursion makes instances until the host runs out. Word 4 counts the
    // start functions that ran: the main instance's and one per thread.
    let text = module(
        "call $park",
        r#"(func $boot
      (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
      (drop (call $spawn (i32.const 0))))
    (start $boot)
    (func (export "count") (result i32)
      (i32.atomic.store (i32.const 0) (i32.const 1))
      (drop (memory.atomic.notify (i32.const 0) (i32.const -1)))
      (i32.atomic.load (i32.const 4)))"#,
    );
    run_wat("startbomb", &text, &["--invoke", "count"]).assert_ok(0, "65\n");
}

#[test]
fn the_executor_refuses_a_threads_guest_at_upload() {
    // Refused with the reason, not accepted and then failing every call
    // with an unknown import.
    let text = module("call $park", r#"(func (export "_start"))"#);
    let path = write(&scratch_dir("upload"), "threads.wat", text.as_bytes());
    let r = faasm_run(&[
        "upload".as_ref(),
        "threadsuser/spawner".as_ref(),
        path.as_os_str(),
    ]);
    r.assert_error("executor runs no wasi-threads guests");
}
