//! WASI through the real runtime: guests (written in WAT here, so every
//! call and pointer is explicit) exercise the host functions via
//! `faasm-run`, including stdin, clocks, randomness, descriptors and bad
//! pointers.

mod common;

use common::{FAASM_RUN, Run, faasm_run, scratch_dir, wat, write};
use std::io::Write;
use std::process::{Command, Stdio};

const PROBE: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $time (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; cat: copy stdin to stdout through a 7-byte buffer (many short reads).
  (func (export "_start")
    (local $n i32)
    (block $eof
      (loop $more
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 7))
        (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
          (then unreachable))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $eof (i32.eqz (local.get $n)))
        (i32.store (i32.const 4) (local.get $n))
        (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
          (then unreachable))
        (br $more))))

  (func (export "realtime") (result i32 i64)
    (call $time (i32.const 0) (i64.const 1) (i32.const 16)) (i64.load (i32.const 16)))
  (func (export "clock") (param i32) (result i32)
    (call $time (local.get 0) (i64.const 0) (i32.const 16)))
  ;; Nanoseconds a busy loop of N iterations took on the monotonic clock.
  (func (export "elapsed") (param $n i32) (result i64)
    (local $t0 i64)
    (drop (call $time (i32.const 1) (i64.const 0) (i32.const 16)))
    (local.set $t0 (i64.load (i32.const 16)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (drop (call $time (i32.const 1) (i64.const 0) (i32.const 16)))
    (i64.sub (i64.load (i32.const 16)) (local.get $t0)))
  ;; errno of random_get into [ptr, ptr+len), then how many of the first
  ;; 64 bytes at ptr are non-zero.
  (func (export "random") (param $ptr i32) (param $len i32) (result i32 i32)
    (local $i i32) (local $nz i32)
    (call $random (local.get $ptr) (local.get $len))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const 64)))
      (if (i32.load8_u (i32.add (i32.and (local.get $ptr) (i32.const 0x7fff)) (local.get $i)))
        (then (local.set $nz (i32.add (local.get $nz) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $nz))
  ;; filetype byte and errno of fd_fdstat_get(fd) at ptr.
  (func (export "fdstat") (param $fd i32) (param $ptr i32) (result i32 i32)
    (call $fdstat (local.get $fd) (local.get $ptr))
    (i32.load8_u (i32.and (local.get $ptr) (i32.const 0xffff))))
  (func (export "seek") (param i32) (result i32)
    (call $seek (local.get 0) (i64.const 0) (i32.const 0) (i32.const 16)))
  (func (export "prestat") (param i32) (result i32)
    (call $prestat (local.get 0) (i32.const 16)))
  ;; Close stdout, then try to write to it.
  (func (export "close_then_write") (result i32 i32)
    (call $fd_close (i32.const 1))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  ;; errno, count and total size of the environment.
  (func (export "env") (result i32 i32 i32)
    (call $env_sizes (i32.const 16) (i32.const 20))
    (i32.load (i32.const 16)) (i32.load (i32.const 20)))
  (func (export "args") (result i32 i32 i32)
    (call $args_sizes (i32.const 16) (i32.const 20))
    (i32.load (i32.const 16)) (i32.load (i32.const 20))))
"#;

fn probe() -> String {
    let dir = scratch_dir("wasi");
    write(&dir, "probe.wasm", &wat(PROBE)).display().to_string()
}

fn invoke(file: &str, args: &[&str]) -> Run {
    let mut v = vec!["--invoke", args[0], file];
    v.extend(&args[1..]);
    faasm_run(v)
}

#[test]
fn stdin_reaches_the_guest() {
    let file = probe();
    let input: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut child = Command::new(FAASM_RUN)
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = {
        let input = input.clone();
        std::thread::spawn(move || stdin.write_all(&input).unwrap())
    };
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, input);
    // No stdin at all: immediate end of file.
    faasm_run([&file]).assert_ok(0, "");
}

#[test]
fn clocks() {
    let file = probe();
    let run = invoke(&file, &["realtime"]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "0", "{run:#?}");
    let guest: u128 = lines[1].parse().unwrap();
    let host = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    assert!(
        host >= guest && host - guest < 10_000_000_000,
        "guest {guest} host {host}"
    );

    invoke(&file, &["clock", "1"]).assert_ok(0, "0\n");
    invoke(&file, &["clock", "2"]).assert_ok(0, "58\n"); // ENOTSUP: CPU time is shared
    invoke(&file, &["clock", "9"]).assert_ok(0, "28\n"); // EINVAL
    let run = invoke(&file, &["elapsed", "10000000"]);
    let ns: i64 = run.stdout.trim().parse().unwrap();
    assert!(ns > 0, "monotonic clock did not advance: {run:#?}");
}

#[test]
fn random_and_bad_pointers() {
    let file = probe();
    let run = invoke(&file, &["random", "1024", "64"]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "0");
    // 64 random bytes with fewer than 32 non-zero: probability ~ 2^-200.
    assert!(lines[1].parse::<u32>().unwrap() > 32, "{run:#?}");
    // Buffer running past the end of the 64 KiB memory, and far outside it.
    invoke(&file, &["random", "65500", "64"]).assert_ok(0, "21\n0\n");
    invoke(&file, &["random", "0xfffffff0", "64"]).assert_ok(0, "21\n0\n");
    invoke(&file, &["random", "0", "0xffffffff"]).assert_ok(0, "21\n0\n");
}

#[test]
fn descriptors() {
    let file = probe();
    invoke(&file, &["fdstat", "1", "32"]).assert_ok(0, "0\n2\n"); // character device
    invoke(&file, &["fdstat", "0", "32"]).assert_ok(0, "0\n2\n");
    invoke(&file, &["fdstat", "3", "32"]).assert_ok(0, "8\n0\n"); // EBADF
    invoke(&file, &["fdstat", "1", "65530"]).assert_ok(0, "21\n0\n"); // EFAULT
    invoke(&file, &["seek", "1"]).assert_ok(0, "70\n"); // ESPIPE
    invoke(&file, &["seek", "5"]).assert_ok(0, "8\n");
    invoke(&file, &["prestat", "3"]).assert_ok(0, "8\n"); // no preopens
    // After closing stdout the guest's write fails with EBADF; faasm-run's
    // own output (the results) still reaches the host's stdout.
    invoke(&file, &["close_then_write"]).assert_ok(0, "0\n8\n");
}

#[test]
fn arguments_and_environment_sizes() {
    let file = probe();
    // --invoke passes FILE as argv[0] only.
    let expected_args = format!("0\n1\n{}\n", file.len() + 1);
    invoke(&file, &["args"]).assert_ok(0, &expected_args);
    invoke(&file, &["env"]).assert_ok(0, "0\n0\n0\n");
    let run = faasm_run([
        "--env", "A=1", "--env", "LONG=xyz", "--invoke", "env", &file,
    ]);
    run.assert_ok(0, "0\n2\n13\n"); // "A=1\0" + "LONG=xyz\0"
}

#[test]
fn a_shared_linker_uses_each_instances_own_context() {
    use faasm_hostif::{HostCtx, wasi};
    use faasm_runtime::{Engine, Linker, Module};
    use std::sync::Arc;
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasi::add_to_linker_shared(&mut linker);
    let module = Module::new(
        &engine,
        &wat(r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          ;; One iovec {ptr 8, len 2} at 0; the count goes to 12.
          (data (i32.const 0) "\08\00\00\00\02\00\00\00hi")
          (func (export "_start")
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))))"#),
    )
    .unwrap();
    let pipes = [wasi::OutputPipe::new(), wasi::OutputPipe::new()];
    for (i, pipe) in pipes.iter().enumerate() {
        let host = HostCtx {
            wasi: wasi::WasiCtx::builder()
                .stdout_pipe(pipe.clone())
                .build()
                .unwrap(),
            faasm: None,
        };
        let instance = linker.instantiate_with(&module, Arc::new(host)).unwrap();
        for _ in 0..=i {
            instance.get_func("_start").unwrap().call(&[]).unwrap();
        }
    }
    assert_eq!(pipes[0].contents(), b"hi");
    assert_eq!(pipes[1].contents(), b"hihi");
    // An instance made without a context traps with a message; the host
    // carries on.
    let instance = linker.instantiate(&module).unwrap();
    let err = instance.get_func("_start").unwrap().call(&[]).unwrap_err();
    assert!(err.to_string().contains("no host context"), "{err}");
}
