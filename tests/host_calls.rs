//! Every Faasm host call (`env.__faasm_*`) end to end, each checked by its
//! effect: the bytes read back, the value another Faaslet or another
//! executor on the same home (the global tier) sees, a lock that keeps
//! another call out. The guests are WebAssembly text, so these run without
//! the guest toolchain. `every_host_call_is_called_by_a_guest_here` keeps
//! the list whole: a call added to the ABI fails it until a guest here
//! calls it.

mod common;

use common::{Home, scratch_dir, wat, write};
use faasm::executor::{Executor, ExecutorConfig, FunctionStore, Limits};
use faasm_hostif::faasm::CallResult;
use std::path::Path;
use std::time::{Duration, Instant};

/// A guest module: an import for every Faasm call `body` calls (`$NAME`
/// for `__faasm_NAME`, with the signature the host defines), the WASI
/// calls below, one page of memory (more with `(memory ...)` in `body`
/// is not allowed: grow it instead) and `body`.
fn guest(body: &str) -> Vec<u8> {
    let mut imports = String::new();
    for (name, params, result) in faasm_hostif::faasm::functions() {
        let short = name.trim_start_matches("__faasm_");
        if !body.contains(&format!("(call ${short} ")) {
            continue;
        }
        let params = " i32".repeat(params);
        let result = if result { "(result i32)" } else { "" };
        imports.push_str(&format!(
            "(import \"env\" \"{name}\" (func ${short} (param{params}) {result}))\n"
        ));
    }
    wat(&format!(
        r#"(module {imports}
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  {SLEEP}
  {body})"#
    ))
}

/// `$sleep_ms`: spins on the monotonic clock (scratch at 65528).
const SLEEP: &str = r#"
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 65528)))
    (i64.load (i32.const 65528)))
  (func $sleep_ms (param $ms i32) (local $end i64)
    (local.set $end (i64.add (call $now)
      (i64.mul (i64.extend_i32_u (local.get $ms)) (i64.const 1000000))))
    (loop $spin (br_if $spin (i64.lt_u (call $now) (local.get $end)))))"#;

const USER: &str = "alice";

/// An executor over `home` with a 20 s call timeout (a lock test that
/// waits on a broken lock ends there instead of hanging).
fn executor_at(home: &Path) -> Executor {
    Executor::new(
        FunctionStore::new(home.to_path_buf()),
        ExecutorConfig {
            workers: 4,
            limits: Limits {
                timeout: Some(Duration::from_secs(20)),
                ..Limits::default()
            },
            ..ExecutorConfig::default()
        },
    )
}

fn upload(exec: &Executor, func: &str, body: &str) {
    exec.upload(USER, func, &guest(body)).unwrap();
}

/// Invokes `func` and asserts it succeeded; its output.
fn ok(exec: &Executor, func: &str, input: &[u8]) -> Vec<u8> {
    let r = exec.invoke(USER, func, input.to_vec());
    assert_ok(&r, func);
    r.output.clone()
}

fn assert_ok(r: &CallResult, func: &str) {
    assert!(
        !r.failed && r.return_code == 0,
        "{func}: {r:?} ({})",
        String::from_utf8_lossy(&r.output)
    );
}

/// Invokes `func`, asserts it failed with `needle` in its message.
fn fails(exec: &Executor, func: &str, needle: &str) {
    let r = exec.invoke(USER, func, vec![]);
    let text = String::from_utf8_lossy(&r.output);
    assert!(r.failed, "{func} should fail: {r:?}");
    assert!(text.contains(needle), "{func}: {needle:?} not in {text:?}");
}

fn state(exec: &Executor, key: &str) -> Vec<u8> {
    exec.state().get(USER, key).unwrap_or_default()
}

#[test]
fn every_host_call_is_called_by_a_guest_here() {
    let source = include_str!("host_calls.rs");
    let missing: Vec<&str> = faasm_hostif::faasm::functions()
        .map(|(name, _, _)| name)
        .filter(|name| name.starts_with("__faasm_"))
        .filter(|name| {
            let short = name.trim_start_matches("__faasm_");
            !source.contains(&format!("(call ${short} "))
        })
        .collect();
    assert!(missing.is_empty(), "no guest here calls {missing:?}");
}

/// Writes "hello" to "greeting"; reads bytes 1..8 of it zero-extended to
/// 8 bytes, and outputs them.
const READ_OFFSET: &str = r#"
  (data (i32.const 0) "greeting\00")
  (data (i32.const 16) "hello")
  (func (export "_start")
    (call $write_state (i32.const 0) (i32.const 16) (i32.const 5))
    (call $read_state_offset (i32.const 0) (i32.const 8) (i32.const 1) (i32.const 64) (i32.const 7))
    (call $write_output (i32.const 64) (i32.const 7)))"#;

#[test]
fn read_state_offset_reads_a_window_of_the_value_zero_extended() {
    let exec = executor_at(&scratch_dir("hc-read-offset"));
    upload(&exec, "read", READ_OFFSET);
    assert_eq!(ok(&exec, "read", b""), b"ello\0\0\0");
    upload(
        &exec,
        "past",
        r#"(data (i32.const 0) "greeting\00")
           (func (export "_start")
             (call $read_state_offset (i32.const 0) (i32.const 8) (i32.const 4) (i32.const 64) (i32.const 5)))"#,
    );
    fails(&exec, "past", "__faasm_read_state_offset");
}

#[test]
fn write_state_offset_resizes_and_replaces_only_its_bytes() {
    let home = scratch_dir("hc-write-offset");
    let exec = executor_at(&home);
    upload(
        &exec,
        "write",
        r#"(data (i32.const 0) "greeting\00")
           (data (i32.const 16) "hello!!!EL")
           (func (export "_start")
             (call $write_state (i32.const 0) (i32.const 16) (i32.const 5))
             (call $write_state_offset (i32.const 0) (i32.const 8) (i32.const 5) (i32.const 21) (i32.const 3))
             (call $write_state_offset (i32.const 0) (i32.const 8) (i32.const 1) (i32.const 24) (i32.const 2)))"#,
    );
    ok(&exec, "write", b"");
    assert_eq!(state(&exec, "greeting"), b"hELlo!!!");
    // Pushed: a second executor on the same home reads it from the global
    // tier.
    let other = executor_at(&home);
    upload(
        &other,
        "read",
        r#"(data (i32.const 0) "greeting\00")
           (func (export "_start")
             (drop (call $read_state (i32.const 0) (i32.const 64) (i32.const 8)))
             (call $write_output (i32.const 64) (i32.const 8)))"#,
    );
    assert_eq!(ok(&other, "read", b""), b"hELlo!!!");
    upload(
        &exec,
        "past",
        r#"(data (i32.const 0) "greeting\00")
           (func (export "_start")
             (call $write_state_offset (i32.const 0) (i32.const 8) (i32.const 7) (i32.const 64) (i32.const 2)))"#,
    );
    fails(&exec, "past", "__faasm_write_state_offset");
    assert_eq!(state(&exec, "greeting"), b"hELlo!!!");
}

#[test]
fn read_state_offset_ptr_points_into_the_keys_region() {
    let exec = executor_at(&scratch_dir("hc-offset-ptr"));
    upload(
        &exec,
        "ptr",
        r#"(data (i32.const 0) "letters\00")
           (data (i32.const 16) "abcdefgh")
           (func (export "_start") (local $q i32)
             (call $write_state (i32.const 0) (i32.const 16) (i32.const 8))
             (local.set $q (call $read_state_offset_ptr (i32.const 0) (i32.const 8) (i32.const 3) (i32.const 2)))
             (i32.store (i32.const 32)
               (i32.sub (local.get $q) (call $read_state_ptr (i32.const 0) (i32.const 8))))
             (i32.store16 (i32.const 36) (i32.load16_u (local.get $q)))
             (call $write_output (i32.const 32) (i32.const 6)))"#,
    );
    let out = ok(&exec, "ptr", b"");
    assert_eq!(i32::from_le_bytes(out[..4].try_into().unwrap()), 3);
    assert_eq!(&out[4..], b"de");
    upload(
        &exec,
        "past",
        r#"(data (i32.const 0) "letters\00")
           (func (export "_start")
             (drop (call $read_state_offset_ptr (i32.const 0) (i32.const 8) (i32.const 7) (i32.const 2))))"#,
    );
    fails(&exec, "past", "__faasm_read_state_offset_ptr");
}

/// 128 KiB: two chunks of the global tier.
const BIG: usize = 131072;
const CHUNK: usize = 65536;

/// Functions on "big" (128 KiB): "set" writes it whole, every byte the
/// input's first; "check" reads it and outputs the first byte of each
/// chunk; the others map it and push in one way each.
fn upload_big(exec: &Executor) {
    upload(
        exec,
        "set",
        r#"(data (i32.const 0) "big\00")
           (func (export "_start") (local $at i32)
             (drop (call $read_input (i32.const 16) (i32.const 1)))
             (local.set $at (i32.mul (memory.grow (i32.const 2)) (i32.const 65536)))
             (memory.fill (local.get $at) (i32.load8_u (i32.const 16)) (i32.const 131072))
             (call $write_state (i32.const 0) (local.get $at) (i32.const 131072)))"#,
    );
    upload(
        exec,
        "check",
        r#"(data (i32.const 0) "big\00")
           (func (export "_start") (local $at i32)
             (local.set $at (i32.mul (memory.grow (i32.const 2)) (i32.const 65536)))
             (drop (call $read_state (i32.const 0) (local.get $at) (i32.const 131072)))
             (i32.store8 (i32.const 32) (i32.load8_u (local.get $at)))
             (i32.store8 (i32.const 33) (i32.load8_u (i32.add (local.get $at) (i32.const 65536))))
             (i32.store8 (i32.const 34) (i32.load8_u (i32.add (local.get $at) (i32.const 65541))))
             (call $write_output (i32.const 32) (i32.const 3)))"#,
    );
    let mapped = |then: &str| {
        format!(
            r#"(data (i32.const 0) "big\00")
               (func (export "_start") (local $p i32)
                 (local.set $p (call $read_state_ptr (i32.const 0) (i32.const 131072)))
                 {then})"#
        )
    };
    upload(
        exec,
        "push_none",
        &mapped("(call $push_state_partial (i32.const 0))"),
    );
    upload(
        exec,
        "flag_range",
        &mapped(
            "(call $flag_state_offset_dirty (i32.const 0) (i32.const 131072) (i32.const 65636) (i32.const 8))
             (call $push_state_partial (i32.const 0))",
        ),
    );
    upload(
        exec,
        "flag_all",
        &mapped(
            "(call $flag_state_dirty (i32.const 0) (i32.const 131072))
             (call $push_state_partial (i32.const 0))",
        ),
    );
    // Writes 'C' at byte 5 of the second chunk through the pointer.
    let write = "(i32.store8 (i32.add (local.get $p) (i32.const 65541)) (i32.const 67))";
    upload(
        exec,
        "write_partial",
        &mapped(&format!("{write} (call $push_state_partial (i32.const 0))")),
    );
    upload(
        exec,
        "write_whole",
        &mapped(&format!("{write} (call $push_state (i32.const 0))")),
    );
}

/// Runs `then` on executor A after A wrote "big" as all 'A' and another
/// executor B on the same home overwrote it globally with all 'B' (A's
/// copy is now stale); then a third executor reads the global value.
fn after_a_stale_copy(name: &str, then: &str) -> Vec<u8> {
    let home = scratch_dir(name);
    let a = executor_at(&home);
    let b = executor_at(&home);
    upload_big(&a);
    upload_big(&b);
    ok(&a, "set", b"A");
    ok(&b, "set", b"B");
    assert_eq!(state(&a, "big"), vec![b'A'; BIG], "A's copy");
    ok(&a, then, b"");
    let c = executor_at(&home);
    upload_big(&c);
    ok(&c, "check", b"")
}

/// A partial push sends the chunks flagged dirty and no others: unflagged
/// and unchanged, A's stale chunks stay out of the global tier.
#[test]
fn dirty_flags_choose_the_chunks_a_partial_push_sends() {
    assert_eq!(after_a_stale_copy("hc-push-none", "push_none"), b"BBB");
    assert_eq!(after_a_stale_copy("hc-flag-range", "flag_range"), b"BAA");
    assert_eq!(after_a_stale_copy("hc-flag-all", "flag_all"), b"AAA");
}

/// A partial push also sends a chunk written through the mapped region
/// (found changed), only that one; a whole push sends everything.
#[test]
fn push_state_partial_sends_the_changed_chunk_and_push_state_all() {
    assert_eq!(
        after_a_stale_copy("hc-write-partial", "write_partial"),
        b"BAC"
    );
    assert_eq!(after_a_stale_copy("hc-write-whole", "write_whole"), b"AAC");
}

/// `pull_state` refreshes a stale local copy from the global tier; a
/// region mapped without it keeps the stale bytes.
#[test]
fn pull_state_refreshes_the_region_from_the_global_tier() {
    let home = scratch_dir("hc-pull");
    let (a, b) = (executor_at(&home), executor_at(&home));
    upload_big(&a);
    upload_big(&b);
    let first_bytes = |then: &str| {
        format!(
            r#"(data (i32.const 0) "big\00")
               (func (export "_start") (local $p i32)
                 {then}
                 (local.set $p (call $read_state_ptr (i32.const 0) (i32.const 131072)))
                 (i32.store8 (i32.const 32) (i32.load8_u (local.get $p)))
                 (i32.store8 (i32.const 33) (i32.load8_u (i32.add (local.get $p) (i32.const 65536))))
                 (call $write_output (i32.const 32) (i32.const 2)))"#
        )
    };
    upload(&a, "mapped", &first_bytes(""));
    upload(
        &a,
        "pulled",
        &first_bytes("(call $pull_state (i32.const 0) (i32.const 131072))"),
    );
    ok(&a, "set", b"A");
    ok(&b, "set", b"B");
    assert_eq!(ok(&a, "mapped", b""), b"AA");
    assert_eq!(ok(&a, "pulled", b""), b"BB");
    assert_eq!(state(&a, "big")[CHUNK], b'B');
}

/// Input: the byte strings to append to "log", each preceded by its length
/// byte. Then outputs `read_appended_state` of 2 elements into a 100-byte
/// buffer, of 3 into a 3-byte one (the rest of the buffer stays '.'), and
/// after clearing, of 3 into a buffer of '.'.
const APPEND: &str = r#"
  (data (i32.const 0) "log\00")
  (func (export "_start") (local $n i32) (local $at i32) (local $len i32)
    (local.set $n (call $read_input (i32.const 1024) (i32.const 1024)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $at) (local.get $n)))
      (local.set $len (i32.load8_u (i32.add (i32.const 1024) (local.get $at))))
      (call $append_state (i32.const 0) (i32.add (i32.const 1025) (local.get $at)) (local.get $len))
      (local.set $at (i32.add (local.get $at) (i32.add (local.get $len) (i32.const 1))))
      (br $next)))
    (memory.fill (i32.const 2048) (i32.const 46) (i32.const 32))
    (call $read_appended_state (i32.const 0) (i32.const 2048) (i32.const 100) (i32.const 2))
    (call $read_appended_state (i32.const 0) (i32.const 2060) (i32.const 3) (i32.const 3))
    (call $write_output (i32.const 2048) (i32.const 16)))"#;

const CLEAR: &str = r#"
  (data (i32.const 0) "log\00")
  (func (export "_start")
    (call $clear_appended_state (i32.const 0))
    (memory.fill (i32.const 2048) (i32.const 46) (i32.const 8))
    (call $read_appended_state (i32.const 0) (i32.const 2048) (i32.const 8) (i32.const 3))
    (call $write_output (i32.const 2048) (i32.const 8)))"#;

#[test]
fn appended_state_reads_back_in_order_is_shared_and_clears() {
    let home = scratch_dir("hc-append");
    let exec = executor_at(&home);
    upload(&exec, "append", APPEND);
    upload(&exec, "clear", CLEAR);
    assert_eq!(
        ok(&exec, "append", b"\x02ab\x03cde\x01f"),
        b"abcde.......abc."
    );
    // Another executor on the same home sees the list and adds to it.
    let other = executor_at(&home);
    upload(&other, "append", APPEND);
    assert_eq!(ok(&other, "append", b"\x01g"), b"abcde.......abc.");
    upload(
        &exec,
        "read4",
        r#"(data (i32.const 0) "log\00")
           (func (export "_start")
             (call $read_appended_state (i32.const 0) (i32.const 64) (i32.const 64) (i32.const 4))
             (call $write_output (i32.const 64) (i32.const 7)))"#,
    );
    assert_eq!(ok(&exec, "read4", b""), b"abcdefg");
    assert_eq!(ok(&exec, "clear", b""), b"........");
    assert_eq!(ok(&other, "append", b""), b"................");
}

#[test]
fn write_state_from_file_stores_the_guests_file() {
    let home = scratch_dir("hc-from-file");
    let exec = executor_at(&home);
    let fs = home.join("users").join(USER).join("fs");
    std::fs::create_dir_all(&fs).unwrap();
    std::fs::write(fs.join("data.txt"), "from a file").unwrap();
    let from = |path: &str| {
        format!(
            r#"(data (i32.const 0) "file\00")
               (data (i32.const 16) "{path}\00")
               (func (export "_start")
                 (i32.store (i32.const 48) (call $write_state_from_file (i32.const 0) (i32.const 16)))
                 (call $write_output (i32.const 48) (i32.const 4)))"#
        )
    };
    upload(&exec, "load", &from("/data.txt"));
    assert_eq!(ok(&exec, "load", b""), 11u32.to_le_bytes());
    assert_eq!(state(&exec, "file"), b"from a file");
    upload(&exec, "missing", &from("/nope.txt"));
    fails(&exec, "missing", "/nope.txt");
}

#[test]
fn conf_flag_is_on_only_for_always_on() {
    let exec = executor_at(&scratch_dir("hc-conf"));
    upload(
        &exec,
        "flags",
        r#"(data (i32.const 0) "ALWAYS_ON\00")
           (data (i32.const 16) "PYTHON_PRELOAD\00")
           (data (i32.const 32) "always_on\00")
           (func (export "_start")
             (i32.store8 (i32.const 64) (call $conf_flag (i32.const 0)))
             (i32.store8 (i32.const 65) (call $conf_flag (i32.const 16)))
             (i32.store8 (i32.const 66) (call $conf_flag (i32.const 32)))
             (call $write_output (i32.const 64) (i32.const 3)))"#,
    );
    assert_eq!(ok(&exec, "flags", b""), [1, 0, 0]);
}

/// Faasm's form: the child's whole output placed in fresh pages of the
/// caller, its address and length stored in the two slots; a foreign id
/// gives -1 and leaves the slots alone.
#[test]
fn await_call_output_places_the_output_in_fresh_pages() {
    let exec = executor_at(&scratch_dir("hc-await-output"));
    upload(
        &exec,
        "child",
        r#"(data (i32.const 0) "output of the child")
           (func (export "_start") (call $write_output (i32.const 0) (i32.const 19)))"#,
    );
    // Output: address, length, return code, the foreign id's return code
    // and its two slots (i32 each), then the output found at the address.
    upload(
        &exec,
        "parent",
        r#"(data (i32.const 0) "child\00")
           (func (export "_start")
             (i32.store (i32.const 108) (call $await_call_output
               (call $chain_name (i32.const 0) (i32.const 0) (i32.const 0))
               (i32.const 100) (i32.const 104)))
             (i32.store (i32.const 116) (i32.const 7))
             (i32.store (i32.const 120) (i32.const 8))
             (i32.store (i32.const 112)
               (call $await_call_output (i32.const 999999) (i32.const 116) (i32.const 120)))
             (memory.copy (i32.const 124) (i32.load (i32.const 100)) (i32.load (i32.const 104)))
             (call $write_output (i32.const 100) (i32.add (i32.const 24) (i32.load (i32.const 104)))))"#,
    );
    let out = ok(&exec, "parent", b"");
    let word = |i: usize| i32::from_le_bytes(out[i * 4..i * 4 + 4].try_into().unwrap());
    assert!(word(0) >= 65536, "not in fresh pages: {:#x}", word(0));
    assert_eq!((word(1), word(2)), (19, 0));
    assert_eq!((word(3), word(4), word(5)), (-1, 7, 8));
    assert_eq!(&out[24..], b"output of the child");
}

/// The lock calls of one tier on key "k" (at address 0): take and
/// release, for reading and for writing.
struct Tier {
    read: [&'static str; 2],
    write: [&'static str; 2],
}

const LOCAL: Tier = Tier {
    read: [
        "(call $lock_state_read (i32.const 0))",
        "(call $unlock_state_read (i32.const 0))",
    ],
    write: [
        "(call $lock_state_write (i32.const 0))",
        "(call $unlock_state_write (i32.const 0))",
    ],
};

const GLOBAL: Tier = Tier {
    read: [
        "(call $lock_state_global_read (i32.const 0))",
        "(call $unlock_state_global_read (i32.const 0))",
    ],
    write: [
        "(call $lock_state_global_write (i32.const 0))",
        "(call $unlock_state_global_write (i32.const 0))",
    ],
};

impl Tier {
    fn calls(&self, mode: &str) -> [&'static str; 2] {
        match mode {
            "read" => self.read,
            "write" => self.write,
            _ => unreachable!("mode {mode}"),
        }
    }

    /// Takes the lock on "k" in `mode`, sets "held", sleeps 300 ms,
    /// writes "x" = "done", releases it, and then waits for "seen" (set by
    /// a call that needs the lock): it ends only if unlocking let that call
    /// in.
    fn holder(&self, mode: &str) -> String {
        format!(
            r#"(data (i32.const 0) "k\00")
               (data (i32.const 8) "held\00")
               (data (i32.const 16) "x\00")
               (data (i32.const 24) "seen\00")
               (data (i32.const 32) "done")
               (func (export "_start")
                 {lock}
                 (call $write_state (i32.const 8) (i32.const 32) (i32.const 4))
                 (call $sleep_ms (i32.const 300))
                 (call $write_state (i32.const 16) (i32.const 32) (i32.const 4))
                 {unlock}
                 (loop $wait
                   (br_if $wait (i32.eqz (call $read_state (i32.const 24) (i32.const 0) (i32.const 0))))))"#,
            lock = self.calls(mode)[0],
            unlock = self.calls(mode)[1],
        )
    }

    /// Takes the lock on "k" in `mode`, outputs "x" (4 bytes, "...." if
    /// not written yet), sets "seen" and releases the lock.
    fn taker(&self, mode: &str) -> String {
        format!(
            r#"(data (i32.const 0) "k\00")
               (data (i32.const 16) "x\00")
               (data (i32.const 24) "seen\00")
               (data (i32.const 64) "....")
               (func (export "_start")
                 {lock}
                 (drop (call $read_state (i32.const 16) (i32.const 64) (i32.const 4)))
                 (call $write_state (i32.const 24) (i32.const 64) (i32.const 4))
                 {unlock}
                 (call $write_output (i32.const 64) (i32.const 4)))"#,
            lock = self.calls(mode)[0],
            unlock = self.calls(mode)[1],
        )
    }

    /// Takes the read lock on "k", sets "held" and waits (holding it) for
    /// "go", which only another reader sets.
    fn patient_reader(&self) -> String {
        format!(
            r#"(data (i32.const 0) "k\00")
               (data (i32.const 8) "held\00")
               (data (i32.const 24) "go\00")
               (func (export "_start")
                 {lock}
                 (call $write_state (i32.const 8) (i32.const 24) (i32.const 2))
                 (loop $wait
                   (br_if $wait (i32.eqz (call $read_state (i32.const 24) (i32.const 0) (i32.const 0)))))
                 {unlock})"#,
            lock = self.read[0],
            unlock = self.read[1],
        )
    }

    /// Takes the read lock on "k", sets "go", releases it.
    fn second_reader(&self) -> String {
        format!(
            r#"(data (i32.const 0) "k\00")
               (data (i32.const 24) "go\00")
               (func (export "_start")
                 {lock}
                 (call $write_state (i32.const 24) (i32.const 24) (i32.const 2))
                 {unlock})"#,
            lock = self.read[0],
            unlock = self.read[1],
        )
    }
}

/// Waits until state `key` exists (set by a call in the background).
fn wait_for(exec: &Executor, key: &str) {
    let start = Instant::now();
    while exec.state().get(USER, key).is_none_or(|v| v.is_empty()) {
        assert!(start.elapsed() < Duration::from_secs(20), "{key} never set");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// While `holder` holds the lock in `held` mode, `taker` (in `taken`
/// mode) waits: it sees the holder's last write, made just before the
/// holder unlocked. The holder ends only because unlocking let the taker
/// in (it waits for the taker's mark).
fn excludes(tier: &Tier, held: &str, taken: &str) {
    let exec = executor_at(&scratch_dir("hc-lock"));
    upload(&exec, "holder", &tier.holder(held));
    upload(&exec, "taker", &tier.taker(taken));
    let holder = exec.call(USER, "holder", vec![]);
    wait_for(&exec, "held");
    assert_eq!(
        ok(&exec, "taker", b""),
        b"done",
        "{taken} lock taken while {held} held"
    );
    assert_ok(&holder.wait(), "holder");
}

/// Two readers hold the read lock at once: the first waits, holding it,
/// for the second to come in.
fn readers_share(tier: &Tier) {
    let exec = executor_at(&scratch_dir("hc-readers"));
    upload(&exec, "first", &tier.patient_reader());
    upload(&exec, "second", &tier.second_reader());
    let first = exec.call(USER, "first", vec![]);
    wait_for(&exec, "held");
    ok(&exec, "second", b"");
    assert_ok(&first.wait(), "first reader");
}

#[test]
fn local_write_lock_excludes_writers_and_readers() {
    excludes(&LOCAL, "write", "write");
    excludes(&LOCAL, "write", "read");
}

#[test]
fn local_read_lock_is_shared_but_excludes_writers() {
    readers_share(&LOCAL);
    excludes(&LOCAL, "read", "write");
}

#[test]
fn global_write_lock_excludes_writers_and_readers() {
    excludes(&GLOBAL, "write", "write");
    excludes(&GLOBAL, "write", "read");
}

#[test]
fn global_read_lock_is_shared_but_excludes_writers() {
    readers_share(&GLOBAL);
    excludes(&GLOBAL, "read", "write");
}

/// The global lock holds across executors on one home (processes of an
/// installation): a second executor's writer waits for the first's.
#[test]
fn global_write_lock_holds_across_executors() {
    let home = scratch_dir("hc-global-lock");
    let (a, b) = (executor_at(&home), executor_at(&home));
    // The holder ends by itself: "seen" is set in the other executor.
    let holder = GLOBAL.holder("write").replace(
        "(loop $wait",
        "(call $write_state (i32.const 24) (i32.const 32) (i32.const 4)) (loop $wait",
    );
    upload(&a, "holder", &holder);
    upload(&b, "taker", &GLOBAL.taker("write"));
    let h = a.call(USER, "holder", vec![]);
    wait_for(&a, "held");
    assert_eq!(ok(&b, "taker", b""), b"done");
    assert_ok(&h.wait(), "holder");
}

/// Chaining by table index: the child runs `table[1]` after the
/// initialiser, and its result is the return code `await_call` gives.
#[test]
fn chain_ptr_runs_a_table_entry_and_await_call_returns_its_result() {
    let exec = executor_at(&scratch_dir("hc-chain-ptr"));
    upload(
        &exec,
        "ptr",
        r#"(global $init (mut i32) (i32.const 0))
           (table 2 funcref)
           (elem (i32.const 1) $twice)
           (func (export "__wasm_call_ctors") (global.set $init (i32.const 100)))
           ;; The initialiser's value + the input byte * 2.
           (func $twice (result i32)
             (drop (call $read_input (i32.const 0) (i32.const 1)))
             (i32.add (global.get $init) (i32.mul (i32.load8_u (i32.const 0)) (i32.const 2))))
           (func (export "_start")
             (i32.store8 (i32.const 8) (i32.const 21))
             (i32.store (i32.const 16)
               (call $await_call (call $chain_ptr (i32.const 1) (i32.const 8) (i32.const 1))))
             ;; An id this Faaslet did not make: -1.
             (i32.store (i32.const 20) (call $await_call (i32.const 999999)))
             (call $write_output (i32.const 16) (i32.const 8)))"#,
    );
    let out = ok(&exec, "ptr", b"");
    assert_eq!(out[..4], 142i32.to_le_bytes());
    assert_eq!(out[4..], (-1i32).to_le_bytes());
}

/// Ours: the output's size, and a copy of at most the buffer's length.
#[test]
fn get_call_output_size_and_await_call_output_buffer_read_the_childs_output() {
    let exec = executor_at(&scratch_dir("hc-output-buffer"));
    upload(
        &exec,
        "child",
        r#"(data (i32.const 0) "abcdefgh")
           (func (export "_start") (call $write_output (i32.const 0) (i32.const 8)))"#,
    );
    upload(
        &exec,
        "parent",
        r#"(data (i32.const 0) "child\00")
           (data (i32.const 40) "......")
           (func (export "_start") (local $id i32)
             (local.set $id (call $chain_name (i32.const 0) (i32.const 0) (i32.const 0)))
             (i32.store (i32.const 32) (call $get_call_output_size (local.get $id)))
             (i32.store (i32.const 36) (call $await_call_output_buffer (local.get $id) (i32.const 40) (i32.const 3)))
             (call $write_output (i32.const 32) (i32.const 14)))"#,
    );
    let out = ok(&exec, "parent", b"");
    assert_eq!(out[..4], 8i32.to_le_bytes(), "size");
    assert_eq!(out[4..8], 0i32.to_le_bytes(), "the child's return code");
    assert_eq!(&out[8..], b"abc...");
}

/// A masked push of a mapped (shared) region sends the value, as a whole
/// push does; a mask the caller has not mapped traps naming it.
#[test]
fn push_state_partial_mask_sends_the_region_and_needs_the_mask_mapped() {
    let home = scratch_dir("hc-mask");
    let exec = executor_at(&home);
    upload(
        &exec,
        "masked",
        r#"(data (i32.const 0) "vec\00")
           (data (i32.const 8) "vec-mask\00")
           (func (export "_start") (local $p i32) (local $m i32)
             (local.set $p (call $read_state_ptr (i32.const 0) (i32.const 4)))
             (local.set $m (call $read_state_ptr (i32.const 8) (i32.const 4)))
             (i32.store (local.get $p) (i32.const 0x5a595857))
             (i32.store (local.get $m) (i32.const 0x01010101))
             (call $push_state_partial_mask (i32.const 0) (i32.const 8)))"#,
    );
    upload(
        &exec,
        "unmapped",
        r#"(data (i32.const 0) "vec\00")
           (data (i32.const 8) "other-mask\00")
           (func (export "_start")
             (drop (call $read_state_ptr (i32.const 0) (i32.const 4)))
             (call $push_state_partial_mask (i32.const 0) (i32.const 8)))"#,
    );
    ok(&exec, "masked", b"");
    // Pushed: another executor on the home reads it from the global tier.
    let other = executor_at(&home);
    upload(
        &other,
        "read",
        r#"(data (i32.const 0) "vec\00")
           (func (export "_start")
             (drop (call $read_state (i32.const 0) (i32.const 64) (i32.const 4)))
             (call $write_output (i32.const 64) (i32.const 4)))"#,
    );
    assert_eq!(ok(&other, "read", b""), b"WXYZ");
    fails(&exec, "unmapped", "other-mask");
}

/// `__faasm_backtrace` prints the calling function's wasm frames on the
/// host's stderr (seen here through `faasm-run invoke`), and the call goes
/// on. `shallow` is small enough to be compiled into `_start`: it is still
/// listed, marked inlined.
#[test]
fn backtrace_prints_the_callers_frames() {
    let home = Home::new("hc-backtrace");
    let module = write(
        &home.0,
        "bt.wat",
        br#"(module
          (import "env" "__faasm_backtrace" (func $backtrace (param i32)))
          (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "after")
          (func $deep (call $backtrace (i32.const 0)))
          (func $shallow (call $deep))
          (func (export "_start") (call $shallow)
            (call $write_output (i32.const 0) (i32.const 5))))"#,
    );
    let up = home.run(&["upload", "cli/bt", module.to_str().unwrap()]);
    assert_eq!(up.code, Some(0), "{up:#?}");
    let run = home.invoke("cli/bt", "");
    run.assert_output("after");
    assert!(
        run.stderr.contains("backtrace requested by cli/bt"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains(
            "wasm backtrace:\n   0: `deep` (function 2)\n   1: `shallow` (function 3), inlined\n   2: function 4"
        ),
        "{run:#?}"
    );
}
