//! The limits and defaults README.md states, each held to its figure:
//! the figures are read from README.md and compared with the defaults in
//! the code, and each is then run at its default (chains 1,000 deep on a
//! pool of 2, 4,096 calls in flight, the per-user bound of 1,024, the
//! 64 MiB output limit, the 256 MiB state limit, the 60 s timeout).

mod common;

use common::{Home, scratch_dir, wat};
use faasm::executor::{CallLimits, Executor, ExecutorConfig, FunctionStore, Limits};
use std::time::Duration;

const README: &str = include_str!("../README.md");

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The first figure in `text`: digits with `,` separators, then an
/// optional unit (`KiB`, `MiB`, `GiB` or `s`, which counts seconds).
fn figure(text: &str) -> u64 {
    let start = text
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or_else(|| panic!("no figure in {text:?}"));
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != ',')
        .unwrap_or(rest.len());
    let n: u64 = rest[..end].replace(',', "").parse().unwrap();
    let unit = rest[end..].trim_start();
    let scale = [("KiB", KIB), ("MiB", MIB), ("GiB", GIB)]
        .iter()
        .find(|(u, _)| unit.starts_with(u))
        .map_or(1, |(_, s)| *s);
    n * scale
}

/// The "Default" cell of the README's *Limits per user* row that names
/// `field` (in backquotes).
fn table_default(field: &str) -> &'static str {
    let quoted = format!("`{field}`");
    let row = README
        .lines()
        .find(|l| l.starts_with('|') && l.split('|').nth(1).is_some_and(|c| c.contains(&quoted)))
        .unwrap_or_else(|| panic!("README has no limits row for {quoted}"));
    row.split('|').nth(2).unwrap()
}

/// The text of the README right after `phrase` (which must be there).
fn after(phrase: &str) -> &'static str {
    let at = README
        .find(phrase)
        .unwrap_or_else(|| panic!("README no longer says {phrase:?}"));
    &README[at + phrase.len()..]
}

#[test]
fn the_readmes_figures_are_the_defaults() {
    let config = ExecutorConfig::default();
    let calls = CallLimits::default();
    let admitted = table_default("calls.max_calls_per_user");
    assert_eq!(figure(admitted), calls.max_calls_per_user as u64);
    assert_eq!(
        figure(&admitted[admitted.find("and").unwrap()..]),
        config.max_calls as u64
    );
    let rows: [(&str, u64); 6] = [
        (
            "calls.max_queued_per_user",
            calls.max_queued_per_user as u64,
        ),
        (
            "calls.max_queued_input_per_user",
            calls.max_queued_input_per_user as u64,
        ),
        ("calls.max_chain_input", calls.max_chain_input as u64),
        (
            "calls.max_records_per_user",
            calls.max_records_per_user as u64,
        ),
        ("state_limit_per_user", config.state_limit_per_user as u64),
        ("disk_limit_per_user", config.disk_limit_per_user),
    ];
    for (field, code) in rows {
        assert_eq!(figure(table_default(field)), code, "{field}");
    }
    // The total state bound is in the same row's first cell.
    assert_eq!(
        figure(after("`state_limit` in total, ")),
        config.state_limit as u64
    );
    let limits = Limits::default();
    assert_eq!(
        Some(Duration::from_secs(figure(table_default(
            "limits.compile_time"
        )))),
        limits.compile_time
    );
    assert_eq!(
        Some(Duration::from_secs(figure(after("timeout (default ")))),
        limits.timeout
    );
    assert_eq!(figure(after("limit (default ")), limits.max_output as u64);
}

/// Input: n (i32 LE). n == 0: waits (sleeping 2 ms at a time in
/// poll_oneoff) until state "go" exists, then exits 0; else chains itself
/// with n - 1 and exits with the child's return code + 1.
const DEEP: &str = r#"(module
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_chain_name" (func $chain_name (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_await_call" (func $await (param i32) (result i32)))
  (import "env" "__faasm_read_state" (func $read_state (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory 1)
  (data (i32.const 0) "deep\00")
  (data (i32.const 8) "go\00")
  (func (export "_start") (local $n i32)
    (drop (call $read_input (i32.const 16) (i32.const 4)))
    (local.set $n (i32.load (i32.const 16)))
    (if (i32.eqz (local.get $n)) (then
      ;; A relative clock subscription of 2 ms.
      (i32.store8 (i32.const 72) (i32.const 0))
      (i32.store (i32.const 80) (i32.const 1))
      (i64.store (i32.const 88) (i64.const 2000000))
      (loop $wait
        (if (i32.eqz (call $read_state (i32.const 8) (i32.const 0) (i32.const 0))) (then
          (drop (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 192)))
          (br $wait))))
      (call $exit (i32.const 0))))
    (i32.store (i32.const 16) (i32.sub (local.get $n) (i32.const 1)))
    (call $exit (i32.add (i32.const 1)
      (call $await (call $chain_name (i32.const 0) (i32.const 16) (i32.const 4)))))))"#;

const ECHO: &str = r#"(module
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
  (memory 1)
  (func (export "_start") (local $n i32)
    (local.set $n (call $read_input (i32.const 0) (i32.const 1024)))
    (call $write_output (i32.const 0) (local.get $n))))"#;

/// An executor with the default configuration but `workers` and a 120 s
/// timeout (a bound that failed to hold ends there instead of hanging).
fn executor(workers: usize) -> Executor {
    Executor::new(
        FunctionStore::new(scratch_dir("limits")),
        ExecutorConfig {
            workers,
            limits: Limits {
                timeout: Some(Duration::from_secs(120)),
                ..Limits::default()
            },
            ..ExecutorConfig::default()
        },
    )
}

fn depth(n: u32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

fn go(exec: &Executor, user: &str) {
    exec.state()
        .set("test", user, "go", b"go")
        .expect("setting go");
}

/// "chains 1,000 deep ... finish with any pool size": 1,000 calls, each
/// awaiting the next, on 2 workers.
#[test]
fn a_chain_1000_deep_finishes_on_a_pool_of_2() {
    let exec = executor(2);
    exec.upload("alice", "deep", &wat(DEEP)).unwrap();
    go(&exec, "alice");
    let r = exec.invoke("alice", "deep", depth(999));
    assert_eq!((r.return_code, r.failed), (999, false), "{r:?}");
}

/// The default per-user bound, 1,024 calls admitted: a chain of 1,024
/// finishes; in one of 1,025 the deepest call could only wait for ever,
/// so it fails (return code 1) and each of the 1,024 above adds 1.
#[test]
fn the_default_per_user_bound_admits_1024_calls() {
    let exec = executor(2);
    exec.upload("alice", "deep", &wat(DEEP)).unwrap();
    go(&exec, "alice");
    let r = exec.invoke("alice", "deep", depth(1023));
    assert_eq!((r.return_code, r.failed), (1023, false), "{r:?}");
    let r = exec.invoke("alice", "deep", depth(1024));
    assert_eq!((r.return_code, r.failed), (1025, false), "{r:?}");
}

/// The default bound over all users, 4,096 calls in flight: four users'
/// chains of 1,024 (held at their deepest call) are all admitted, and a
/// fifth user's call waits in its queue until one ends. (Workers: the four
/// deepest calls sleep on one each.)
#[test]
fn the_default_bound_is_4096_calls_in_flight() {
    let exec = executor(6);
    let users = ["u0", "u1", "u2", "u3"];
    for u in users.iter().chain(&["late"]) {
        exec.upload(u, "deep", &wat(DEEP)).unwrap();
    }
    exec.upload("late", "echo", &wat(ECHO)).unwrap();
    let chains: Vec<_> = users
        .iter()
        .map(|u| exec.call(u, "deep", depth(1023)))
        .collect();
    // All 4,096 admitted.
    let start = std::time::Instant::now();
    while users.iter().any(|u| exec.load(u) != (1024, 0)) {
        let loads: Vec<_> = users.iter().map(|u| exec.load(u)).collect();
        assert!(
            start.elapsed() < Duration::from_secs(100),
            "admitted and queued per user: {loads:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let late = exec.call("late", "echo", b"late".to_vec());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(exec.load("late"), (0, 1), "a 4,097th call was admitted");
    for u in users {
        go(&exec, u);
    }
    for c in &chains {
        let r = c.wait();
        assert_eq!((r.return_code, r.failed), (1023, false), "{r:?}");
    }
    assert_eq!(late.wait().output, b"late");
}

/// Writes `len` bytes (input: len, i32 LE) of output, growing memory for
/// them.
const OUTPUT: &str = r#"(module
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
  (memory 1)
  (func (export "_start") (local $len i32)
    (drop (call $read_input (i32.const 0) (i32.const 4)))
    (local.set $len (i32.load (i32.const 0)))
    (drop (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16)) (i32.const 1))))
    (call $write_output (i32.const 65536) (local.get $len))))"#;

/// The default output limit, 64 MiB: exactly that is fine, a byte more
/// fails the call.
#[test]
fn the_default_output_limit_is_64_mib() {
    let exec = executor(2);
    exec.upload("alice", "out", &wat(OUTPUT)).unwrap();
    let limit = 64 << 20;
    let r = exec.invoke("alice", "out", depth(limit));
    assert!(!r.failed, "{}", String::from_utf8_lossy(&r.output[..200]));
    assert_eq!(r.output.len(), limit as usize);
    let r = exec.invoke("alice", "out", depth(limit + 1));
    assert!(r.failed);
    let msg = String::from_utf8_lossy(&r.output);
    assert!(
        msg.contains("output limit exceeded (67108865 bytes, limit 67108864)"),
        "{msg}"
    );
}

/// Writes `len` bytes (input: len, i32 LE) to state "k", growing memory
/// for them.
const STATE: &str = r#"(module
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_state" (func $write_state (param i32 i32 i32)))
  (memory 1)
  (data (i32.const 0) "k\00")
  (func (export "_start") (local $len i32)
    (drop (call $read_input (i32.const 8) (i32.const 4)))
    (local.set $len (i32.load (i32.const 8)))
    (drop (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16)) (i32.const 1))))
    (call $write_state (i32.const 0) (i32.const 65536) (local.get $len))))"#;

/// The default state limit per user, 256 MiB, each key charged its
/// length plus 64 bytes: a value that fills it exactly is stored, one byte
/// more is refused, and the other user is unaffected.
#[test]
fn the_default_state_limit_is_256_mib_per_user() {
    let exec = executor(2);
    exec.upload("alice", "state", &wat(STATE)).unwrap();
    exec.upload("bob", "state", &wat(STATE)).unwrap();
    let limit = (256 << 20) - (1 + faasm_hostif::faasm::KEY_OVERHEAD as u32);
    let r = exec.invoke("alice", "state", depth(limit + 1));
    assert!(r.failed);
    let msg = String::from_utf8_lossy(&r.output);
    assert!(
        msg.contains("state limit exceeded for user \"alice\" (268435456 bytes)"),
        "{msg}"
    );
    let r = exec.invoke("alice", "state", depth(limit));
    assert!(!r.failed, "{}", String::from_utf8_lossy(&r.output));
    assert_eq!(exec.state().user_bytes("alice"), 256 << 20);
    let r = exec.invoke("bob", "state", depth(16));
    assert!(!r.failed, "{}", String::from_utf8_lossy(&r.output));
}

/// The default timeout, 60 s, as `faasm-run invoke` applies it: a call
/// asleep for ten minutes ends at 60 s (asleep in poll_oneoff, so the
/// wait costs no CPU).
#[test]
fn the_default_timeout_is_60_s() {
    let home = Home::new("limits-timeout");
    let sleeper = home.0.join("sleep.wat");
    std::fs::write(
        &sleeper,
        r#"(module
          (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
          (memory 1)
          (func (export "_start")
            ;; One subscription: the monotonic clock (tag 0), 600 s.
            (i32.store (i32.const 16) (i32.const 1))
            (i64.store (i32.const 24) (i64.const 600000000000))
            (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#,
    )
    .unwrap();
    let run = home.run(&["upload", "alice/sleep", sleeper.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let start = std::time::Instant::now();
    let run = home.run(&["invoke", "alice/sleep"]);
    run.assert_error("timeout after 60000ms");
    assert!(start.elapsed() >= Duration::from_secs(60), "{run:#?}");
}
