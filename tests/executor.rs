//! The executor end to end with WebAssembly-text guests written here (so
//! these tests do not depend on the guest SDKs): input/output, state and
//! its locks, chaining (by name and by table index, wide and deep, with a
//! pool smaller than the fan-out), awaiting foreign ids, bad input of every
//! kind, limits, plain WASI programs, and `faasm-run upload/list/invoke`.

mod common;

use common::{FAASM_RUN, faasm_run_in, scratch_dir, wat, write};
use faasm::executor::{CallLimits, Executor, ExecutorConfig, FunctionStore, Limits};

use std::process::Command;
use std::time::{Duration, Instant};

/// The imports every guest below may use.
const IMPORTS: &str = r#"
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
  (import "env" "__faasm_chain_name" (func $chain_name (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_chain_ptr" (func $chain_ptr (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_await_call" (func $await (param i32) (result i32)))
  (import "env" "__faasm_await_call_output_buffer" (func $await_output (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_get_call_output_size" (func $output_size (param i32) (result i32)))
  (import "env" "__faasm_read_state" (func $read_state (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_write_state" (func $write_state (param i32 i32 i32)))
  (import "env" "__faasm_read_state_ptr" (func $read_state_ptr (param i32 i32) (result i32)))
  (import "env" "__faasm_push_state" (func $push_state (param i32)))
  (import "env" "__faasm_lock_state_write" (func $lock_write (param i32)))
  (import "env" "__faasm_unlock_state_write" (func $unlock_write (param i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
"#;

/// A guest module: `IMPORTS`, one page of memory, then `body`.
fn guest(body: &str) -> Vec<u8> {
    wat(&format!(
        "(module {IMPORTS} (memory (export \"memory\") 1) {body})"
    ))
}

/// Reads the input to 1024 and writes it back.
const ECHO: &str = r#"
  (func (export "_start") (local $n i32)
    (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
    (drop (call $read_input (i32.const 1024) (local.get $n)))
    (call $write_output (i32.const 1024) (local.get $n)))
"#;

/// Increments state "count" (4 bytes LE) under the write lock and outputs
/// the new value.
const COUNTER: &str = r#"
  (data (i32.const 0) "count\00")
  (func (export "_start")
    (call $lock_write (i32.const 0))
    (drop (call $read_state (i32.const 0) (i32.const 16) (i32.const 4)))
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (call $write_state (i32.const 0) (i32.const 16) (i32.const 4))
    (call $unlock_write (i32.const 0))
    (call $write_output (i32.const 16) (i32.const 4)))
"#;

/// Exits with its input's first byte + 1 (a chained child).
const CHILD: &str = r#"
  (func (export "_start")
    (drop (call $read_input (i32.const 0) (i32.const 1)))
    (call $exit (i32.add (i32.load8_u (i32.const 0)) (i32.const 1))))
"#;

/// Input: n (i32 LE). Chains n "child" calls (input byte = i % 7), awaits
/// them all, outputs the sum of their return codes (i32 LE).
const FANOUT: &str = r#"
  (data (i32.const 0) "child\00")
  (func (export "_start") (local $n i32) (local $i i32) (local $sum i32)
    (drop (call $read_input (i32.const 8) (i32.const 4)))
    (local.set $n (i32.load (i32.const 8)))
    (block $done (loop $chain
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.const 12) (i32.rem_u (local.get $i) (i32.const 7)))
      (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))
        (call $chain_name (i32.const 0) (i32.const 12) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $chain)))
    (local.set $i (i32.const 0))
    (block $done (loop $wait
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $sum (i32.add (local.get $sum)
        (call $await (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $wait)))
    (i32.store (i32.const 16) (local.get $sum))
    (call $write_output (i32.const 16) (i32.const 4)))
"#;

/// Input: n (i32 LE). n == 0: exits 0; else chains itself with n - 1 and
/// exits with the child's return code + 1.
const DEEP: &str = r#"
  (data (i32.const 0) "deep\00")
  (func (export "_start") (local $n i32)
    (drop (call $read_input (i32.const 8) (i32.const 4)))
    (local.set $n (i32.load (i32.const 8)))
    (if (i32.eqz (local.get $n)) (then (call $exit (i32.const 0))))
    (i32.store (i32.const 8) (i32.sub (local.get $n) (i32.const 1)))
    (call $exit (i32.add (i32.const 1)
      (call $await (call $chain_name (i32.const 0) (i32.const 8) (i32.const 4))))))
"#;

fn sum_input(n: u32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

fn as_i32(out: &[u8]) -> i32 {
    i32::from_le_bytes(out[..4].try_into().expect("4 bytes of output"))
}

/// An executor over a fresh `$FAASM_HOME`.
fn executor(workers: usize, limits: Limits) -> Executor {
    let home = scratch_dir("exec");
    Executor::new(
        FunctionStore::new(home),
        ExecutorConfig {
            workers,
            limits,
            ..ExecutorConfig::default()
        },
    )
}

fn short_timeout(ms: u64) -> Limits {
    Limits {
        timeout: Some(Duration::from_millis(ms)),
        ..Limits::default()
    }
}

fn upload(exec: &Executor, func: &str, body: &str) {
    exec.upload("alice", func, &guest(body)).unwrap();
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn echo_returns_its_input() {
    let exec = executor(2, Limits::default());
    upload(&exec, "echo", ECHO);
    let r = exec.invoke("alice", "echo", b"hello faaslet".to_vec());
    assert_eq!((r.return_code, r.failed), (0, false));
    assert_eq!(r.output, b"hello faaslet");
    let r = exec.invoke("alice", "echo", vec![]);
    assert_eq!((r.return_code, r.output.len()), (0, 0));
    // Another user has no such function.
    let r = exec.invoke("bob", "echo", vec![]);
    assert!(r.failed && r.return_code == 1, "{r:?}");
}

#[test]
fn state_persists_across_calls_and_the_lock_serialises_updates() {
    let exec = executor(4, Limits::default());
    upload(&exec, "counter", COUNTER);
    assert_eq!(as_i32(&exec.invoke("alice", "counter", vec![]).output), 1);
    assert_eq!(as_i32(&exec.invoke("alice", "counter", vec![]).output), 2);
    assert_eq!(
        exec.state().get("alice", "count").unwrap(),
        2i32.to_le_bytes()
    );
    // Concurrent increments lose nothing.
    let handles: Vec<_> = (0..40)
        .map(|_| exec.call("alice", "counter", vec![]))
        .collect();
    for h in &handles {
        let r = h.wait();
        assert_eq!(r.return_code, 0, "{}", text(&r.output));
    }
    assert_eq!(
        exec.state().get("alice", "count").unwrap(),
        42i32.to_le_bytes()
    );
    // State is per user: bob's counter starts at 1.
    exec.upload("bob", "counter", &guest(COUNTER)).unwrap();
    assert_eq!(as_i32(&exec.invoke("bob", "counter", vec![]).output), 1);
}

#[test]
fn a_lock_held_by_a_failed_call_is_released_and_misuse_traps() {
    let exec = executor(2, Limits::default());
    upload(&exec, "counter", COUNTER);
    // Takes the lock and traps while holding it.
    upload(
        &exec,
        "leaky",
        r#"(data (i32.const 0) "count\00")
           (func (export "_start") (call $lock_write (i32.const 0)) unreachable)"#,
    );
    upload(
        &exec,
        "unlock",
        r#"(data (i32.const 0) "count\00")
           (func (export "_start") (call $unlock_write (i32.const 0)))"#,
    );
    let r = exec.invoke("alice", "leaky", vec![]);
    assert!(r.failed && text(&r.output).starts_with("trap: "), "{r:?}");
    let start = Instant::now();
    assert_eq!(as_i32(&exec.invoke("alice", "counter", vec![]).output), 1);
    assert!(start.elapsed() < Duration::from_secs(5));
    let r = exec.invoke("alice", "unlock", vec![]);
    assert!(r.failed, "{r:?}");
    assert!(
        text(&r.output).contains("__faasm_unlock_state_write: this Faaslet does not hold"),
        "{}",
        text(&r.output)
    );
}

#[test]
fn state_pointers_map_into_memory_and_push_back() {
    let exec = executor(2, Limits::default());
    upload(
        &exec,
        "ptr",
        r#"(data (i32.const 0) "vec\00")
           (func (export "_start") (local $p i32)
             (local.set $p (call $read_state_ptr (i32.const 0) (i32.const 8)))
             ;; Same key, same pointer.
             (if (i32.ne (local.get $p) (call $read_state_ptr (i32.const 0) (i32.const 8)))
               (then unreachable))
             (i32.store (local.get $p) (i32.add (i32.load (local.get $p)) (i32.const 10)))
             (call $push_state (i32.const 0))
             (i32.store (i32.const 16) (local.get $p))
             (i32.store (i32.const 20) (i32.load (local.get $p)))
             (call $write_output (i32.const 16) (i32.const 8)))"#,
    );
    let r = exec.invoke("alice", "ptr", vec![]);
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    // The region is past the module's one page: the host grew memory.
    assert_eq!(as_i32(&r.output[..4]), 65536);
    assert_eq!(as_i32(&r.output[4..]), 10);
    let r = exec.invoke("alice", "ptr", vec![]);
    assert_eq!(as_i32(&r.output[4..]), 20);
    assert_eq!(
        exec.state().get("alice", "vec").unwrap(),
        [20, 0, 0, 0, 0, 0, 0, 0]
    );
}

/// Zero copy: a Faaslet writes through its state pointer and, without
/// pushing, chains a second Faaslet that maps the same key and reads the
/// write; the second's write is then seen by the first, still unpushed.
/// The host's value is the mapped memory itself.
#[test]
fn faaslets_share_state_regions_through_memory() {
    let exec = executor(2, Limits::default());
    upload(
        &exec,
        "reader",
        r#"(data (i32.const 0) "shared\00")
           (func (export "_start") (local $p i32)
             (local.set $p (call $read_state_ptr (i32.const 0) (i32.const 100000)))
             (i32.store (i32.const 16) (i32.load (i32.add (local.get $p) (i32.const 70000))))
             (i32.store (i32.add (local.get $p) (i32.const 4)) (i32.const 0xbeef))
             (call $write_output (i32.const 16) (i32.const 4)))"#,
    );
    upload(
        &exec,
        "writer",
        r#"(data (i32.const 0) "shared\00")
           (data (i32.const 8) "reader\00")
           (func (export "_start") (local $p i32)
             (local.set $p (call $read_state_ptr (i32.const 0) (i32.const 100000)))
             (i32.store (i32.add (local.get $p) (i32.const 70000)) (i32.const 0x5eed))
             (drop (call $await_output
               (call $chain_name (i32.const 8) (i32.const 0) (i32.const 0))
               (i32.const 32) (i32.const 4)))
             (i32.store (i32.const 36) (i32.load (i32.add (local.get $p) (i32.const 4))))
             (call $write_output (i32.const 32) (i32.const 8)))"#,
    );
    let r = exec.invoke("alice", "writer", vec![]);
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    assert_eq!(
        as_i32(&r.output[..4]),
        0x5eed,
        "the reader saw the unpushed write"
    );
    assert_eq!(
        as_i32(&r.output[4..]),
        0xbeef,
        "the writer saw the reader's"
    );
    // Neither pushed, and the value is still empty: the region is the
    // mapped file, its length grows on push.
    assert_eq!(
        exec.state()
            .get("alice", "shared")
            .unwrap_or_default()
            .len(),
        0
    );
}

#[test]
fn fan_out_of_1000_with_a_pool_of_2() {
    let exec = executor(2, Limits::default());
    upload(&exec, "child", CHILD);
    upload(&exec, "fanout", FANOUT);
    let r = exec.invoke("alice", "fanout", sum_input(1000));
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    let expected: i32 = (0..1000).map(|i| i % 7 + 1).sum();
    assert_eq!(as_i32(&r.output), expected);
    // The finished call's children's records are gone.
    assert_eq!(exec.records(), 0);
}

#[test]
fn a_result_names_the_calls_it_chained_and_callbacks_get_it() {
    let exec = executor(2, Limits::default());
    upload(&exec, "child", CHILD);
    upload(&exec, "fanout", FANOUT);
    let handle = exec.call("alice", "fanout", sum_input(3));
    let (tx, rx) = std::sync::mpsc::channel();
    handle.on_done(move |r| tx.send(r).unwrap());
    let r = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(r, handle.wait());
    assert!(!r.failed && !r.timed_out, "{r:?}");
    assert_eq!(r.chained.len(), 3, "{r:?}");
    assert!(r.chained.windows(2).all(|w| w[0] < w[1]) && r.chained[0] > handle.id);
    // A failure is not a timeout.
    let r = exec.invoke("alice", "nope", vec![]);
    assert!(r.failed && !r.timed_out && r.chained.is_empty(), "{r:?}");
}

#[test]
fn chain_250_deep_with_a_pool_of_2() {
    let exec = executor(2, Limits::default());
    upload(&exec, "deep", DEEP);
    let r = exec.invoke("alice", "deep", sum_input(250));
    assert_eq!(
        (r.return_code, r.failed),
        (250, false),
        "{}",
        text(&r.output)
    );
}

#[test]
fn chain_ptr_runs_a_table_entry_after_the_initialisers() {
    let exec = executor(2, Limits::default());
    upload(
        &exec,
        "ptr",
        r#"(global $init (mut i32) (i32.const 0))
           (table 2 funcref)
           (elem (i32.const 1) $worker)
           (func (export "__wasm_call_ctors") (global.set $init (i32.const 1000)))
           ;; input byte * 2 + what the initialiser set
           (func $worker (result i32)
             (drop (call $read_input (i32.const 0) (i32.const 1)))
             (i32.add (global.get $init) (i32.mul (i32.load8_u (i32.const 0)) (i32.const 2))))
           (func (export "_start") (local $id i32)
             (i32.store8 (i32.const 8) (i32.const 21))
             (local.set $id (call $chain_ptr (i32.const 1) (i32.const 8) (i32.const 1)))
             (i32.store (i32.const 16) (call $await (local.get $id)))
             ;; index 0 is null: that call fails with 1
             (i32.store (i32.const 20) (call $await (call $chain_ptr (i32.const 0) (i32.const 0) (i32.const 0))))
             (i32.store (i32.const 24) (call $await (call $chain_ptr (i32.const 99) (i32.const 0) (i32.const 0))))
             (call $write_output (i32.const 16) (i32.const 12)))"#,
    );
    let r = exec.invoke("alice", "ptr", vec![]);
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    assert_eq!(as_i32(&r.output[0..4]), 1042);
    assert_eq!(as_i32(&r.output[4..8]), 1);
    assert_eq!(as_i32(&r.output[8..12]), 1);
}

#[test]
fn awaiting_unknown_or_foreign_ids_gives_minus_one() {
    let exec = executor(2, Limits::default());
    upload(&exec, "child", CHILD);
    // Awaits the id in its input: one its parent made, not itself.
    upload(
        &exec,
        "awaiter",
        r#"(func (export "_start")
             (drop (call $read_input (i32.const 0) (i32.const 4)))
             (call $exit (i32.add (i32.const 100) (call $await (i32.load (i32.const 0))))))"#,
    );
    upload(
        &exec,
        "parent",
        r#"(data (i32.const 0) "child\00")
           (data (i32.const 8) "awaiter\00")
           (func (export "_start") (local $a i32)
             (local.set $a (call $chain_name (i32.const 0) (i32.const 100) (i32.const 1)))
             (i32.store (i32.const 32) (local.get $a))
             (i32.store (i32.const 36) (call $await (call $chain_name (i32.const 8) (i32.const 32) (i32.const 4))))
             (i32.store (i32.const 40) (call $await (i32.const 123456)))
             (i32.store (i32.const 44) (call $await (i32.const 0)))
             (i32.store (i32.const 48) (call $output_size (i32.const -1)))
             (i32.store (i32.const 52) (call $await_output (i32.const 777) (i32.const 0) (i32.const 4)))
             ;; Our own call, twice.
             (i32.store (i32.const 56) (call $await (local.get $a)))
             (i32.store (i32.const 60) (call $await (local.get $a)))
             (call $write_output (i32.const 36) (i32.const 28)))"#,
    );
    let r = exec.invoke("alice", "parent", vec![]);
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    let words: Vec<i32> = r.output.chunks(4).map(as_i32).collect();
    assert_eq!(words, vec![99, -1, -1, -1, -1, 1, 1]);
}

#[test]
fn unknown_functions_fail_with_a_message() {
    let exec = executor(2, Limits::default());
    let r = exec.invoke("alice", "nope", vec![]);
    assert_eq!((r.return_code, r.failed), (1, true));
    assert_eq!(text(&r.output), "unknown function alice/nope");
    // Chained: the parent gets an id, return code 1 and the message.
    upload(
        &exec,
        "parent",
        r#"(data (i32.const 0) "nope\00")
           (data (i32.const 8) "..\00")
           (func (export "_start") (local $id i32) (local $rc i32)
             (local.set $id (call $chain_name (i32.const 0) (i32.const 0) (i32.const 0)))
             (local.set $rc (call $await_output (local.get $id) (i32.const 100) (i32.const 200)))
             (call $write_output (i32.const 100) (call $output_size (local.get $id)))
             (if (i32.ne (local.get $rc) (i32.const 1)) (then unreachable))
             ;; A name that is not a valid function name fails the same way.
             (if (i32.ne (call $await (call $chain_name (i32.const 8) (i32.const 0) (i32.const 0))) (i32.const 1))
               (then unreachable)))"#,
    );
    let r = exec.invoke("alice", "parent", vec![]);
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    assert_eq!(text(&r.output), "unknown function alice/nope");
    // A name with '/' traps in the caller.
    upload(
        &exec,
        "slash",
        r#"(data (i32.const 0) "bob/echo\00")
           (func (export "_start") (drop (call $chain_name (i32.const 0) (i32.const 0) (i32.const 0))))"#,
    );
    let r = exec.invoke("alice", "slash", vec![]);
    assert!(r.failed, "{r:?}");
    assert!(
        text(&r.output).contains("bad function name \"bob/echo\""),
        "{}",
        text(&r.output)
    );
}

#[test]
fn bad_pointers_trap_with_a_message_and_the_caller_survives() {
    let exec = executor(2, Limits::default());
    upload(
        &exec,
        "badptr",
        r#"(func (export "_start") (call $write_output (i32.const 0xffff0000) (i32.const 16)))"#,
    );
    upload(
        &exec,
        "badlen",
        r#"(func (export "_start") (drop (call $read_input (i32.const 16) (i32.const -1))))"#,
    );
    upload(
        &exec,
        "badkey",
        // A key running into the end of memory without a NUL.
        r#"(data (i32.const 65530) "abcdef")
           (func (export "_start") (drop (call $read_state (i32.const 65530) (i32.const 0) (i32.const 0))))"#,
    );
    let r = exec.invoke("alice", "badptr", vec![]);
    assert_eq!((r.return_code, r.failed), (1, true));
    let msg = text(&r.output);
    assert!(
        msg.starts_with(
            "trap: host error: __faasm_write_output: guest buffer 0xffff0000 + 16 is outside memory (65536 bytes) (in function "
        ),
        "{msg}"
    );
    assert!(msg.contains("\nwasm backtrace:\n   0: function "), "{msg}");
    let r = exec.invoke("alice", "badlen", b"x".to_vec());
    assert!(
        text(&r.output)
            .contains("__faasm_read_input: guest buffer 0x10 + 4294967295 is outside memory"),
        "{}",
        text(&r.output)
    );
    let r = exec.invoke("alice", "badkey", vec![]);
    assert!(
        text(&r.output).contains("not NUL-terminated"),
        "{}",
        text(&r.output)
    );
    // A parent sees the child's failure as a return code and carries on.
    upload(
        &exec,
        "parent",
        r#"(data (i32.const 0) "badptr\00")
           (data (i32.const 16) "survived")
           (func (export "_start")
             (if (i32.ne (call $await (call $chain_name (i32.const 0) (i32.const 0) (i32.const 0))) (i32.const 1))
               (then unreachable))
             (call $write_output (i32.const 16) (i32.const 8)))"#,
    );
    let r = exec.invoke("alice", "parent", vec![]);
    assert_eq!(
        (r.return_code, text(&r.output)),
        (0, "survived".to_string())
    );
}

#[test]
fn a_trapping_child_is_a_nonzero_return_code_for_its_parent() {
    let exec = executor(2, Limits::default());
    upload(
        &exec,
        "boom",
        r#"(func (export "_start") (drop (i32.div_u (i32.const 1) (i32.const 0))))"#,
    );
    upload(
        &exec,
        "parent",
        r#"(data (i32.const 0) "boom\00")
           (func (export "_start") (local $id i32)
             (local.set $id (call $chain_name (i32.const 0) (i32.const 0) (i32.const 0)))
             (i32.store (i32.const 8) (call $await_output (local.get $id) (i32.const 12) (i32.const 100)))
             (call $write_output (i32.const 8) (i32.add (i32.const 4) (call $output_size (local.get $id)))))"#,
    );
    let r = exec.invoke("alice", "parent", vec![]);
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    assert_eq!(as_i32(&r.output), 1);
    let msg = text(&r.output[4..]);
    assert!(
        msg.starts_with("trap: wasm trap: integer divide by zero"),
        "{msg}"
    );
}

#[test]
fn output_over_the_limit_fails_the_call() {
    let exec = executor(
        2,
        Limits {
            max_output: 100,
            ..Limits::default()
        },
    );
    upload(
        &exec,
        "big",
        r#"(func (export "_start") (call $write_output (i32.const 0) (i32.const 101)))"#,
    );
    upload(
        &exec,
        "fits",
        r#"(func (export "_start") (call $write_output (i32.const 0) (i32.const 100)))"#,
    );
    // 1 GB claimed: refused by the limit before anything is read.
    upload(
        &exec,
        "huge",
        r#"(func (export "_start") (call $write_output (i32.const 0) (i32.const 1000000000)))"#,
    );
    let r = exec.invoke("alice", "big", vec![]);
    assert!(r.failed, "{r:?}");
    assert!(
        text(&r.output).contains("output limit exceeded (101 bytes, limit 100)"),
        "{}",
        text(&r.output)
    );
    assert!(text(&exec.invoke("alice", "huge", vec![]).output).contains("output limit exceeded"));
    assert_eq!(exec.invoke("alice", "fits", vec![]).output.len(), 100);
}

#[test]
fn a_function_that_never_returns_times_out() {
    let exec = executor(2, short_timeout(300));
    upload(
        &exec,
        "spin",
        r#"(func (export "_start") (loop $l (br $l)))"#,
    );
    let start = Instant::now();
    let r = exec.invoke("alice", "spin", vec![]);
    assert!(r.failed && r.timed_out, "{r:?}");
    assert_eq!(text(&r.output), "timeout after 300ms");
    assert!(start.elapsed() < Duration::from_secs(10));
    // A parent blocked on it times out too, at its own deadline.
    upload(
        &exec,
        "waiter",
        r#"(data (i32.const 0) "spin\00")
           (func (export "_start") (drop (call $await (call $chain_name (i32.const 0) (i32.const 0) (i32.const 0)))))"#,
    );
    let r = exec.invoke("alice", "waiter", vec![]);
    assert_eq!(text(&r.output), "timeout after 300ms");
    // The executor still works.
    upload(&exec, "echo", ECHO);
    assert_eq!(exec.invoke("alice", "echo", b"ok".to_vec()).output, b"ok");
}

/// The ways past a loop-header check: a start function (run while the
/// instance is made), recursion and self tail calls without loops, and an
/// atomic wait with no timeout. Each ends at the deadline, and the worker
/// it held serves the next call.
#[test]
fn no_guest_code_escapes_the_deadline() {
    let exec = executor(1, short_timeout(300));
    let cases = [
        (
            "start",
            r#"(module (func $s (loop $l (br $l))) (start $s) (func (export "_start")))"#,
        ),
        (
            "tree",
            r#"(module
              (func $t (param i32) (result i32)
                (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
                  (else (i32.add (call $t (i32.sub (local.get 0) (i32.const 1)))
                                 (call $t (i32.sub (local.get 0) (i32.const 1)))))))
              (func (export "_start") (drop (call $t (i32.const 60)))))"#,
        ),
        (
            "tail",
            r#"(module (func $f (param i64) (return_call $f (i64.add (local.get 0) (i64.const 1))))
              (func (export "_start") (call $f (i64.const 0))))"#,
        ),
        (
            "wait",
            r#"(module (memory 1 1 shared)
              (func (export "_start")
                (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"#,
        ),
    ];
    for (name, src) in cases {
        exec.upload("alice", name, &wat(src)).unwrap();
        let start = Instant::now();
        let r = exec.invoke("alice", name, vec![]);
        assert!(r.failed, "{name}: {r:?}");
        assert_eq!(text(&r.output), "timeout after 300ms", "{name}");
        assert!(start.elapsed() < Duration::from_secs(10), "{name}");
    }
    upload(&exec, "echo", ECHO);
    assert_eq!(exec.invoke("alice", "echo", b"ok".to_vec()).output, b"ok");
}

#[test]
fn a_function_asleep_in_poll_oneoff_times_out() {
    let exec = executor(2, short_timeout(300));
    // One clock subscription (48 bytes at 0): relative timeout of 60 s.
    exec.upload(
        "alice",
        "sleeper",
        &wat(r#"(module
          (import "wasi_snapshot_preview1" "poll_oneoff"
            (func $poll (param i32 i32 i32 i32) (result i32)))
          (memory 1)
          (func (export "_start")
            (i32.store8 (i32.const 8) (i32.const 0))
            (i32.store (i32.const 16) (i32.const 1))
            (i64.store (i32.const 24) (i64.const 60000000000))
            (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#),
    )
    .unwrap();
    let start = Instant::now();
    let r = exec.invoke("alice", "sleeper", vec![]);
    assert!(r.failed, "{r:?}");
    assert_eq!(text(&r.output), "timeout after 300ms");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn mmap_munmap_and_sbrk_manage_guest_memory() {
    let exec = executor(2, Limits::default());
    // Outputs i32s: an mmap of 100 KiB, a second mmap after unmapping the
    // first (reused), the memory size in pages, a mapping with a file
    // descriptor (refused: -ENODEV), what the reused page holds, then the
    // sbrk break before and after growing it by 10 bytes.
    exec.upload(
        "alice",
        "mman",
        &wat(r#"(module
          (import "env" "mmap" (func $mmap (param i32 i32 i32 i32 i32 i64) (result i32)))
          (import "env" "munmap" (func $munmap (param i32 i32) (result i32)))
          (import "env" "__sbrk" (func $sbrk (param i32) (result i32)))
          (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
          (memory (export "memory") 1)
          (func (export "_start") (local $a i32)
            (local.set $a (call $mmap (i32.const 0) (i32.const 102400) (i32.const 3) (i32.const 0x22) (i32.const -1) (i64.const 0)))
            (i32.store (local.get $a) (i32.const 42))
            (i32.store (i32.const 0) (local.get $a))
            (drop (call $munmap (local.get $a) (i32.const 102400)))
            (i32.store (i32.const 4) (call $mmap (i32.const 0) (i32.const 65536) (i32.const 3) (i32.const 0x22) (i32.const -1) (i64.const 0)))
            (i32.store (i32.const 8) (memory.size))
            (i32.store (i32.const 12) (call $mmap (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 2) (i32.const 3) (i64.const 0)))
            (i32.store (i32.const 16) (i32.load (i32.load (i32.const 4))))
            (drop (call $sbrk (i32.const 0)))
            (i32.store (i32.const 20) (call $sbrk (i32.const 10)))
            (i32.store (i32.const 24) (call $sbrk (i32.const 0)))
            (call $write_output (i32.const 0) (i32.const 28))))"#),
    )
    .unwrap();
    let r = exec.invoke("alice", "mman", vec![]);
    assert!(!r.failed, "{}", text(&r.output));
    let words: Vec<i32> = r
        .output
        .chunks(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    // First mapping at the old end of memory (page 1), two pages long;
    // the second reuses page 1 and reads zero where the first wrote 42.
    // The break starts at the end of memory (3 pages).
    assert_eq!(words, vec![65536, 65536, 3, -19, 0, 196608, 196618]);
}

#[test]
fn memory_is_capped_by_the_limit() {
    let exec = executor(
        2,
        Limits {
            max_memory: Some(2 * 65536),
            ..Limits::default()
        },
    );
    upload(
        &exec,
        "grow",
        r#"(func (export "_start")
             (i32.store (i32.const 0) (memory.grow (i32.const 1)))
             (i32.store (i32.const 4) (memory.grow (i32.const 1)))
             (call $write_output (i32.const 0) (i32.const 8)))"#,
    );
    let r = exec.invoke("alice", "grow", vec![]);
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    assert_eq!((as_i32(&r.output[..4]), as_i32(&r.output[4..])), (1, -1));
    exec.upload(
        "alice",
        "fat",
        &wat(r#"(module (memory 3) (func (export "_start")))"#),
    )
    .unwrap();
    let r = exec.invoke("alice", "fat", vec![]);
    assert!(
        r.failed && text(&r.output).contains("exceeds the configured limit"),
        "{}",
        text(&r.output)
    );
}

#[test]
fn a_plain_wasi_program_runs_as_a_function() {
    let exec = executor(2, Limits::default());
    let wasm = wat(r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "args_sizes_get" (func $args (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "hello from WASI\n")
             (func (export "_start")
               (i32.store (i32.const 0) (i32.const 16))
               (i32.store (i32.const 4) (i32.const 16))
               (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#);
    exec.upload("alice", "hello", &wasm).unwrap();
    let r = exec.invoke("alice", "hello", vec![]);
    assert_eq!(
        (r.return_code, text(&r.output)),
        (0, "hello from WASI\n".to_string())
    );
    // proc_exit's status is the return code, stdout still the output.
    let wasm = wat(r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (func (export "_start") (call $exit (i32.const 7))))"#);
    exec.upload("alice", "seven", &wasm).unwrap();
    let r = exec.invoke("alice", "seven", vec![]);
    assert_eq!((r.return_code, r.failed), (7, false));
}

// ---- faasm-run upload / list / invoke ------------------------------------

#[test]
fn cli_upload_list_invoke() {
    let dir = scratch_dir("cli");
    let home = dir.join("home");
    let echo = write(&dir, "echo.wasm", &guest(ECHO));
    let wat_src = format!("(module {IMPORTS} (memory (export \"memory\") 1) {CHILD})");
    let child = write(&dir, "child.wat", wat_src.as_bytes());

    let run = faasm_run_in(&home, &["list"], None);
    run.assert_ok(0, "");
    let run = faasm_run_in(
        &home,
        &["upload", "alice/echo", echo.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stdout.starts_with("uploaded alice/echo: "), "{run:#?}");
    assert!(home.join("functions/alice/echo/function.faasm").is_file());
    assert!(home.join("functions/alice/echo/function.wasm").is_file());
    let run = faasm_run_in(
        &home,
        &["upload", "bob/child", child.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    faasm_run_in(&home, &["list"], None).assert_ok(0, "alice/echo\nbob/child\n");

    faasm_run_in(
        &home,
        &["invoke", "alice/echo", "--input", "hi there"],
        None,
    )
    .assert_ok(0, "hi there");
    let input = write(&dir, "in.txt", b"from a file");
    faasm_run_in(
        &home,
        &[
            "invoke",
            "alice/echo",
            "--input-file",
            input.to_str().unwrap(),
        ],
        None,
    )
    .assert_ok(0, "from a file");
    faasm_run_in(&home, &["invoke", "alice/echo"], Some(b"from stdin")).assert_ok(0, "from stdin");
    faasm_run_in(
        &home,
        &[
            "invoke",
            "--workers",
            "1",
            "--timeout-ms",
            "5000",
            "alice/echo",
        ],
        None,
    )
    .assert_ok(0, "");
    // The return code is the exit status.
    faasm_run_in(&home, &["invoke", "bob/child", "--input", "\x04"], None).assert_ok(5, "");

    faasm_run_in(&home, &["invoke", "alice/nope"], None)
        .assert_error("unknown function alice/nope");
    // A malformed USER/FUNC is a usage error: exit 2, clap's message.
    let run = faasm_run_in(&home, &["invoke", "alice/../x"], None);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.starts_with("error: invalid value 'alice/../x'"),
        "{run:#?}"
    );
    faasm_run_in(&home, &["upload", "alice/x", "/nonexistent.wasm"], None)
        .assert_error("cannot read /nonexistent.wasm");
    let bad = write(&dir, "bad.wat", b"(module (func (result i32)))");
    faasm_run_in(&home, &["upload", "alice/x", bad.to_str().unwrap()], None)
        .assert_error("cannot compile alice/x");
    // A trap is an error line and status 1.
    let boom = write(
        &dir,
        "boom.wat",
        b"(module (func (export \"_start\") unreachable))",
    );
    faasm_run_in(
        &home,
        &["upload", "alice/boom", boom.to_str().unwrap()],
        None,
    );
    faasm_run_in(&home, &["invoke", "alice/boom"], None)
        .assert_error("alice/boom: trap: wasm trap: ");

    // A module file literally named `list` still runs the old way.
    let list = write(&dir, "list", &wat(r#"(module (func (export "_start")))"#));
    let run = Command::new(FAASM_RUN)
        .arg("./list")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let _ = list;
}

#[test]
fn calls_beyond_the_in_flight_bound_fail_instead_of_hanging() {
    let home = scratch_dir("bound");
    let exec = Executor::new(
        FunctionStore::new(home),
        ExecutorConfig {
            workers: 2,
            max_calls: 10,
            ..ExecutorConfig::default()
        },
    );
    upload(&exec, "deep", DEEP);
    // Calls 0..=9 are in flight; the 11th chained call fails at once with
    // return code 1, and each level above adds 1.
    let r = exec.invoke("alice", "deep", sum_input(50));
    assert_eq!(
        (r.return_code, r.failed),
        (11, false),
        "{}",
        text(&r.output)
    );
    assert!(exec.threads() <= 11, "{} threads", exec.threads());
    // The bound is on calls in flight, not in total.
    let r = exec.invoke("alice", "deep", sum_input(5));
    assert_eq!(r.return_code, 5);
}

/// An executor over a fresh `$FAASM_HOME` with per-user call limits.
fn executor_with(workers: usize, limits: Limits, calls: CallLimits) -> Executor {
    Executor::new(
        FunctionStore::new(scratch_dir("tenants")),
        ExecutorConfig {
            workers,
            limits,
            calls,
            ..ExecutorConfig::default()
        },
    )
}

/// Sleeps (poll_oneoff, one clock subscription) for the milliseconds in
/// its input (i32 LE), then, with `then`, runs it.
fn sleeper(then: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
          (import "wasi_snapshot_preview1" "poll_oneoff"
            (func $poll (param i32 i32 i32 i32) (result i32)))
          (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
          (import "env" "__faasm_chain_name" (func $chain_name (param i32 i32 i32) (result i32)))
          (import "env" "__faasm_await_call" (func $await (param i32) (result i32)))
          (memory 1)
          (data (i32.const 512) "spin\00")
          (func (export "_start")
            (drop (call $read_input (i32.const 256) (i32.const 4)))
            (i32.store8 (i32.const 8) (i32.const 0))
            (i32.store (i32.const 16) (i32.const 1))
            (i64.store (i32.const 24)
              (i64.mul (i64.extend_i32_u (i32.load (i32.const 256))) (i64.const 1000000)))
            (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
            {then}))"#
    ))
}

const SPIN: &str = r#"(func (export "_start") (loop $l (br $l)))"#;

#[test]
fn fan_out_of_10000_queues_past_the_per_user_limit() {
    let exec = executor_with(
        2,
        Limits::default(),
        CallLimits {
            max_calls_per_user: 64,
            ..CallLimits::default()
        },
    );
    upload(&exec, "child", CHILD);
    upload(&exec, "fanout", FANOUT);
    upload(&exec, "echo", ECHO);
    exec.upload("bob", "echo", &guest(ECHO)).unwrap();
    let alice = exec.call("alice", "fanout", sum_input(10_000));
    // Another user's calls go through while alice's queue is long.
    for _ in 0..20 {
        let r = exec.invoke("bob", "echo", b"hi".to_vec());
        assert_eq!((r.return_code, &r.output[..]), (0, &b"hi"[..]));
    }
    let r = alice.wait();
    assert_eq!(r.return_code, 0, "{}", text(&r.output));
    let expected: i32 = (0..10_000).map(|i| i % 7 + 1).sum();
    assert_eq!(as_i32(&r.output), expected);
    assert_eq!(exec.records(), 0);
    assert_eq!(exec.load("alice"), (0, 0));
}

#[test]
fn a_full_queue_fails_the_call_with_a_clear_error() {
    let exec = executor_with(
        2,
        Limits::default(),
        CallLimits {
            max_calls_per_user: 1,
            max_queued_per_user: 1,
            ..CallLimits::default()
        },
    );
    exec.upload("alice", "sleep", &sleeper("")).unwrap();
    exec.upload("bob", "echo", &guest(ECHO)).unwrap();
    let ms = 300u32.to_le_bytes().to_vec();
    let first = exec.call("alice", "sleep", ms.clone());
    let second = exec.call("alice", "sleep", ms.clone());
    let third = exec.call("alice", "sleep", ms).wait();
    assert!(third.failed);
    assert!(
        text(&third.output).starts_with("call queue of user \"alice\" is full"),
        "{}",
        text(&third.output)
    );
    // bob is not held up by alice's limit.
    let r = exec.invoke("bob", "echo", b"x".to_vec());
    assert_eq!((r.return_code, &r.output[..]), (0, &b"x"[..]));
    assert_eq!(first.wait().return_code, 0);
    assert_eq!(second.wait().return_code, 0);
}

#[test]
fn a_chain_deeper_than_the_user_limit_fails_at_the_limit() {
    let exec = executor_with(
        2,
        Limits::default(),
        CallLimits {
            max_calls_per_user: 10,
            ..CallLimits::default()
        },
    );
    upload(&exec, "deep", DEEP);
    exec.upload("bob", "deep", &guest(DEEP)).unwrap();
    // Calls 1..=10 are admitted and wait; the 11th would wait for ever,
    // so it fails (return code 1) and each level above adds 1.
    let r = exec.invoke("alice", "deep", sum_input(50));
    assert_eq!(
        (r.return_code, r.failed),
        (11, false),
        "{}",
        text(&r.output)
    );
    let r = exec.invoke("bob", "deep", sum_input(9));
    assert_eq!((r.return_code, r.failed), (9, false), "{}", text(&r.output));
}

#[test]
fn chained_calls_end_with_their_root() {
    let exec = executor(2, short_timeout(2000));
    // The root sleeps 1.5 s, then chains a function that never returns
    // and awaits it: the root times out at 2 s, and so must the child
    // (with a deadline of its own it would run to 3.5 s).
    let then =
        "(drop (call $await (call $chain_name (i32.const 512) (i32.const 0) (i32.const 0))))";
    exec.upload("alice", "root", &sleeper(then)).unwrap();
    upload(&exec, "spin", SPIN);
    exec.upload("bob", "echo", &guest(ECHO)).unwrap();
    let r = exec.invoke("alice", "root", 1500u32.to_le_bytes().to_vec());
    assert!(r.failed, "{r:?}");
    let ended = Instant::now();
    while exec.load("alice") != (0, 0) {
        assert!(
            ended.elapsed() < Duration::from_millis(1000),
            "the child outlived its root"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(exec.invoke("bob", "echo", b"y".to_vec()).output, b"y");
}

#[test]
fn call_records_are_bounded_per_user() {
    let exec = executor_with(
        2,
        Limits::default(),
        CallLimits {
            max_records_per_user: 100,
            ..CallLimits::default()
        },
    );
    upload(&exec, "child", CHILD);
    upload(&exec, "fanout", FANOUT);
    exec.upload("bob", "child", &guest(CHILD)).unwrap();
    exec.upload("bob", "fanout", &guest(FANOUT)).unwrap();
    let r = exec.invoke("alice", "fanout", sum_input(200));
    assert!(r.failed);
    assert!(
        text(&r.output).contains(
            "__faasm_chain_name: user \"alice\" holds too many chained calls (limit 100)"
        ),
        "{}",
        text(&r.output)
    );
    // The records went with the failed call; bob (and alice again) are fine.
    assert_eq!(exec.records(), 0);
    for user in ["bob", "alice"] {
        let r = exec.invoke(user, "fanout", sum_input(100));
        assert_eq!(r.return_code, 0, "{}", text(&r.output));
        assert_eq!(as_i32(&r.output), (0..100).map(|i| i % 7 + 1).sum::<i32>());
    }
}

#[test]
fn state_is_bounded_per_user_with_keys_and_empty_appends_charged() {
    let exec = Executor::new(
        FunctionStore::new(scratch_dir("state-quota")),
        ExecutorConfig {
            workers: 2,
            state_limit_per_user: 64 << 10,
            ..ExecutorConfig::default()
        },
    );
    // Appends zero-length elements to "k" for ever: only the overhead
    // each element is charged stops it.
    let appender = wat(r#"(module
      (import "env" "__faasm_append_state" (func $append (param i32 i32 i32)))
      (memory 1)
      (data (i32.const 0) "k\00")
      (func (export "_start") (loop $l (call $append (i32.const 0) (i32.const 16) (i32.const 0)) (br $l))))"#);
    exec.upload("alice", "append", &appender).unwrap();
    let r = exec.invoke("alice", "append", vec![]);
    assert!(r.failed);
    assert!(
        text(&r.output).contains("state limit exceeded for user \"alice\" (65536 bytes)"),
        "{}",
        text(&r.output)
    );
    assert!(exec.state().user_bytes("alice") <= 64 << 10);
    // bob's state is his own.
    exec.upload("bob", "counter", &guest(COUNTER)).unwrap();
    assert_eq!(as_i32(&exec.invoke("bob", "counter", vec![]).output), 1);
    assert_eq!(as_i32(&exec.invoke("bob", "counter", vec![]).output), 2);
}

#[test]
fn disk_is_bounded_per_user() {
    let home = scratch_dir("disk-quota");
    let exec = Executor::new(
        FunctionStore::new(&home),
        ExecutorConfig {
            workers: 2,
            disk_limit_per_user: 1 << 20,
            ..ExecutorConfig::default()
        },
    );
    // Input: n (i32 LE). Creates "big" in the user's tree and writes 64
    // KiB to it n times, stopping at the first error. Outputs the bytes
    // written and the last errno (i32 LE each).
    let writer = wat(r#"(module
      (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
      (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
      (memory 3)
      (data (i32.const 0) "big")
      (func (export "_start") (local $n i32) (local $err i32) (local $total i32)
        (drop (call $read_input (i32.const 40) (i32.const 4)))
        (local.set $n (i32.load (i32.const 40)))
        ;; O_CREAT | O_TRUNC, rights fd_write.
        (local.set $err (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3)
          (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 8)))
        (i32.store (i32.const 16) (i32.const 65536))
        (i32.store (i32.const 20) (i32.const 65536))
        (block $done (loop $l
          (br_if $done (local.get $err))
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $err (call $write (i32.load (i32.const 8)) (i32.const 16) (i32.const 1) (i32.const 24)))
          (local.set $total (i32.add (local.get $total) (i32.load (i32.const 24))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (i32.store (i32.const 32) (local.get $total))
        (i32.store (i32.const 36) (local.get $err))
        (call $write_output (i32.const 32) (i32.const 8))))"#);
    exec.upload("alice", "writer", &writer).unwrap();
    exec.upload("bob", "writer", &writer).unwrap();
    // alice tries to write 256 MiB under a 1 MiB quota.
    let r = exec.invoke("alice", "writer", 4096u32.to_le_bytes().to_vec());
    assert!(!r.failed, "{}", text(&r.output));
    let (written, errno) = (as_i32(&r.output), as_i32(&r.output[4..]));
    assert_eq!(errno, 19, "EDQUOT after {written} bytes");
    assert!(written > 0 && written <= 1 << 20, "{written}");
    let big = |user: &str| {
        std::fs::metadata(home.join("users").join(user).join("fs/big"))
            .unwrap()
            .len()
    };
    assert!(big("alice") <= 1 << 20, "{}", big("alice"));
    // bob's quota is his own: he writes half a megabyte.
    let r = exec.invoke("bob", "writer", 8u32.to_le_bytes().to_vec());
    assert_eq!((as_i32(&r.output), as_i32(&r.output[4..])), (512 << 10, 0));
    assert_eq!(big("bob"), 512 << 10);
    // alice truncates her file by writing it again: the space is hers
    // once more.
    let r = exec.invoke("alice", "writer", 8u32.to_le_bytes().to_vec());
    assert_eq!((as_i32(&r.output), as_i32(&r.output[4..])), (512 << 10, 0));
}

#[test]
fn chained_inputs_held_on_the_host_count_against_the_callers_memory() {
    let exec = executor(
        4,
        Limits {
            max_memory: Some(4 << 20),
            ..Limits::default()
        },
    );
    // Holds lock "gate" while it chains n calls of "gated", each with a
    // 1 MiB input, so none of them can end (and free its input) before
    // all are made; then awaits them and outputs how many returned 0.
    let hoard = wat(&format!(
        r#"(module {IMPORTS} (memory 17)
      (data (i32.const 0) "gate\00")
      (data (i32.const 8) "gated\00")
      (func (export "_start") (local $n i32) (local $i i32) (local $ok i32)
        (drop (call $read_input (i32.const 16) (i32.const 4)))
        (local.set $n (i32.load (i32.const 16)))
        (call $lock_write (i32.const 0))
        (block $done (loop $chain
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))
            (call $chain_name (i32.const 8) (i32.const 65536) (i32.const 1048576)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $chain)))
        (call $unlock_write (i32.const 0))
        (local.set $i (i32.const 0))
        (block $done (loop $wait
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (if (i32.eqz (call $await (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2))))))
            (then (local.set $ok (i32.add (local.get $ok) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $wait)))
        (i32.store (i32.const 16) (local.get $ok))
        (call $write_output (i32.const 16) (i32.const 4))))"#
    ));
    let gated = guest(
        r#"(data (i32.const 0) "gate\00")
      (func (export "_start")
        (call $lock_write (i32.const 0))
        (call $unlock_write (i32.const 0)))"#,
    );
    for user in ["alice", "bob"] {
        exec.upload(user, "hoard", &hoard).unwrap();
        exec.upload(user, "gated", &gated).unwrap();
    }
    // 1 MiB of memory + 1 MiB per input held: the third input would pass
    // alice's 4 MiB.
    let r = exec.invoke("alice", "hoard", 8u32.to_le_bytes().to_vec());
    assert!(r.failed, "{}", text(&r.output));
    assert!(
        text(&r.output).contains("would take the caller past its memory limit of 4194304 bytes"),
        "{}",
        text(&r.output)
    );
    // bob's two fit, and so do alice's once the earlier ones ended.
    let r = exec.invoke("bob", "hoard", 2u32.to_le_bytes().to_vec());
    assert_eq!(as_i32(&r.output), 2, "{}", text(&r.output));
    let r = exec.invoke("alice", "hoard", 2u32.to_le_bytes().to_vec());
    assert_eq!(as_i32(&r.output), 2, "{}", text(&r.output));
}

#[test]
fn a_slow_compile_fails_at_the_limit_and_others_upload_and_run() {
    let exec = executor(
        2,
        Limits {
            compile_time: Some(Duration::from_millis(100)),
            ..Limits::default()
        },
    );
    // 16 functions of 3,000 i64 locals live across a loop: each takes the
    // register allocator a good fraction of a second, far past 100 ms in
    // all.
    let mut text = String::from("(module\n");
    for f in 0..16 {
        text.push_str(&format!(
            "(func (export \"f{f}\") (param i32) (result i64) (local"
        ));
        text.push_str(&" i64".repeat(3000));
        text.push_str(")\n(loop $l\n");
        for i in 1..=3000 {
            text.push_str(&format!(
                "(local.set {i} (i64.add (local.get {i}) (i64.extend_i32_u (local.get 0))))\n"
            ));
        }
        text.push_str("(br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))\n");
        text.push_str("(local.get 1)\n");
        for i in 2..=3000 {
            text.push_str(&format!("(local.get {i}) (i64.add)\n"));
        }
        text.push_str(")\n");
    }
    text.push(')');
    let e = exec.upload("alice", "slow", &wat(&text)).unwrap_err();
    assert!(e.to_string().contains("took longer than the limit"), "{e}");
    exec.upload("bob", "echo", &guest(ECHO)).unwrap();
    let r = exec.invoke("bob", "echo", b"still here".to_vec());
    assert_eq!(String::from_utf8_lossy(&r.output), "still here");
}

#[test]
fn a_state_value_larger_than_the_memory_maximum_is_a_clear_error() {
    let exec = executor(2, Limits::default());
    // Memory may grow to 4 pages: a 1 MiB value cannot be mapped into it.
    let mapper = wat(&format!(
        r#"(module {IMPORTS} (memory (export "memory") 1 4)
      (data (i32.const 0) "big\00")
      (func (export "_start")
        (drop (call $read_state_ptr (i32.const 0) (i32.const 1048576)))))"#
    ));
    exec.upload("alice", "mapper", &mapper).unwrap();
    let r = exec.invoke("alice", "mapper", vec![]);
    assert!(r.failed, "{}", text(&r.output));
    assert!(
        text(&r.output).contains("__faasm_read_state_ptr: cannot grow memory by 16 pages"),
        "{}",
        text(&r.output)
    );
    // The user's next call runs as usual.
    exec.upload("alice", "echo", &guest(ECHO)).unwrap();
    assert_eq!(exec.invoke("alice", "echo", b"ok".to_vec()).output, b"ok");
}
