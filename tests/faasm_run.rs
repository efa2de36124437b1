//! `faasm-run` end to end: the embedded demo, `--invoke` with typed
//! arguments and results, exit statuses, and one-line errors (never a panic
//! or a signal) for every kind of bad input.

mod common;

use common::{artifact, faasm_run, installation_key, scratch_dir, test_home, wat, write};
use faasm_abi::Artifact;

/// A module with functions of every scalar type, plus ways to fail.
const FIXTURE: &str = r#"
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "counter") (mut i32) (i32.const 0))
  (data (i32.const 16) "printed by wasm\n")
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "mul64") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
  (func (export "half32") (param f32) (result f32) (f32.mul (local.get 0) (f32.const 0.5)))
  (func (export "sqrt64") (param f64) (result f64) (f64.sqrt (local.get 0)))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "nothing"))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "boom") unreachable)
  (func (export "oob") (result i32) (i32.load (i32.const 0x7fff0000)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "quit") (param i32) (call $exit (local.get 0)) unreachable)
  (func (export "print") (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  ;; A WASI write whose iovec points outside memory: EFAULT (21), no crash.
  (func (export "bad_write") (result i32)
    (i32.store (i32.const 0) (i32.const 0xfffffff0))
    (i32.store (i32.const 4) (i32.const 64))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
"#;

fn fixture() -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = scratch_dir("fixture");
    let wasm = wat(FIXTURE);
    let w = write(&dir, "fixture.wasm", &wasm);
    let a = write(&dir, "fixture.faasm", &artifact(&wasm));
    (w, a)
}

#[test]
fn demo_says_hello() {
    faasm_run(["demo"]).assert_ok(0, "Hello, world!\n");
    faasm_run(["demo", "Faaslet"]).assert_ok(0, "Hello, Faaslet!\n");
    faasm_run(["--invoke", "add", "demo", "2", "40"]).assert_ok(0, "42\n");
}

#[test]
fn invoke_parses_arguments_and_prints_results() {
    let (w, a) = fixture();
    for file in [&w, &a] {
        let run = |args: &[&str]| {
            let mut v = vec![
                "--invoke".to_string(),
                args[0].to_string(),
                file.display().to_string(),
            ];
            v.extend(args[1..].iter().map(|s| s.to_string()));
            faasm_run(v)
        };
        run(&["add", "-5", "3"]).assert_ok(0, "-2\n");
        run(&["add", "4294967295", "0x2"]).assert_ok(0, "1\n");
        run(&["mul64", "4294967296", "-3"]).assert_ok(0, "-12884901888\n");
        run(&["half32", "3"]).assert_ok(0, "1.5\n");
        run(&["sqrt64", "2"]).assert_ok(0, "1.4142135623730951\n");
        run(&["swap", "7", "-8"]).assert_ok(0, "-8\n7\n");
        run(&["nothing"]).assert_ok(0, "");
        run(&["print"]).assert_ok(0, "printed by wasm\n0\n");
        run(&["bad_write"]).assert_ok(0, "21\n");
        run(&["quit", "7"]).assert_ok(7, "");
        run(&["quit", "0"]).assert_ok(0, "");
        // Like a native process, only the low byte of the status survives.
        run(&["quit", "258"]).assert_ok(2, "");
    }
}

#[test]
fn traps_are_one_line_errors() {
    let (w, a) = fixture();
    for file in [&w, &a] {
        let file = file.display().to_string();
        let run = |args: &[&str]| {
            let mut v = vec!["--invoke", args[0], &file];
            v.extend(&args[1..]);
            faasm_run(v)
        };
        run(&["div", "1", "0"]).assert_error("integer divide by zero");
        run(&["div", "-2147483648", "-1"]).assert_error("integer overflow");
        run(&["boom"]).assert_error("unreachable");
        run(&["oob"]).assert_error("out of bounds memory access");
        run(&["recurse", "0"]).assert_error("call stack exhausted");
    }
}

#[test]
fn start_trap_and_link_errors() {
    let dir = scratch_dir("start");
    let start = write(
        &dir,
        "start.wasm",
        &wat("(module (func $s unreachable) (start $s))"),
    );
    faasm_run([&start]).assert_error("unreachable");
    let import = write(
        &dir,
        "import.wasm",
        &wat(r#"(module (import "env" "missing" (func)) (func (export "_start")))"#),
    );
    faasm_run([&import]).assert_error("env");
    // WASI functions exist but with a wrong type: an incompatible import.
    let mistyped = write(
        &dir,
        "mistyped.wasm",
        &wat(
            r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))) (func (export "_start")))"#,
        ),
    );
    faasm_run([&mistyped]).assert_error("fd_write");
    // Every WASI p1 function links, implemented or not.
    let unimplemented = write(
        &dir,
        "path_open.wasm",
        &wat(r#"(module
              (import "wasi_snapshot_preview1" "path_open"
                (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
              (memory 1)
              (func (export "try") (result i32)
                (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                            (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0))))"#),
    );
    // Descriptor 3 is not open (no --dir): EBADF.
    faasm_run(["--invoke", "try", unimplemented.to_str().unwrap()]).assert_ok(0, "8\n");
}

#[test]
fn bad_files_are_one_line_errors() {
    let dir = scratch_dir("bad");
    let wasm = wat(FIXTURE);
    faasm_run([dir.join("missing.wasm")]).assert_error("No such file");
    faasm_run([&dir]).assert_error("cannot load");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    faasm_run([write(&dir, "garbage.wasm", &garbage)])
        .assert_error("neither a WebAssembly module nor a faasm artifact");
    faasm_run([write(&dir, "empty.wasm", b"")]).assert_error("cannot load");
    faasm_run([write(&dir, "truncated.wasm", &wasm[..wasm.len() - 7])])
        .assert_error("invalid module");
    faasm_run([write(&dir, "header-only.wasm", &wasm[..6])]).assert_error("invalid module");
    let invalid = wat("(module (func (export \"_start\") (result i32) (i64.const 1)))");
    faasm_run([write(&dir, "invalid.wasm", &invalid)]).assert_error("type mismatch");
    faasm_run([write(&dir, "bad.wat", b"(module (func (i32.bogus)))")]).assert_error("bad.wat:1:");
}

#[test]
fn bad_artifacts_are_one_line_errors() {
    let dir = scratch_dir("artifact");
    let good = artifact(&wat(FIXTURE));
    let path = write(&dir, "good.faasm", &good);
    faasm_run(["--invoke", "add", path.to_str().unwrap(), "1", "2"]).assert_ok(0, "3\n");

    // Flip one byte in the middle: the tag catches it.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    faasm_run([write(&dir, "flipped.faasm", &flipped)])
        .assert_error("not made by this installation");
    faasm_run([write(&dir, "truncated.faasm", &good[..good.len() / 3])])
        .assert_error("not made by this installation");
    faasm_run([write(&dir, "magic-only.faasm", &good[..8])]).assert_error("cannot load");

    // A well-formed artifact from another compiler version.
    let key = installation_key(test_home());
    let mut other = Artifact::deserialize(&good, &key).unwrap();
    other.compiler_version = "faasmc 0.0.0 (abi 0)".to_string();
    let run = faasm_run([write(&dir, "old.faasm", &other.serialize(&key))]);
    run.assert_error("faasmc 0.0.0 (abi 0)");
    assert!(run.stderr.contains("recompile"), "{run:#?}");

    // ... and for another machine.
    let mut other = Artifact::deserialize(&good, &key).unwrap();
    other.target = "riscv64gc-unknown-linux-gnu".to_string();
    faasm_run([write(&dir, "foreign.faasm", &other.serialize(&key))]).assert_error("riscv64gc");
}

/// An artifact is native code: it runs only if named `*.faasm` and tagged
/// with this installation's key, so a crafted file can never run as one.
#[test]
fn only_this_installations_artifacts_named_faasm_run() {
    let dir = scratch_dir("trust");
    let good = artifact(&wat(FIXTURE));
    // Valid artifact bytes, but not named as an artifact.
    for name in ["evil.wasm", "evil", "evil.bin"] {
        faasm_run([
            "--invoke",
            "add",
            write(&dir, name, &good).to_str().unwrap(),
            "1",
            "2",
        ])
        .assert_error("only files named *.faasm are loaded as artifacts");
    }
    // A well-formed artifact made with another key (another installation,
    // or an attacker who rebuilt the checksum): refused before decoding.
    let a = Artifact::deserialize(&good, &installation_key(test_home())).unwrap();
    let forged = a.serialize(&faasm_abi::ArtifactKey::from_bytes([7; 32]));
    faasm_run([
        "--invoke",
        "add",
        write(&dir, "forged.faasm", &forged).to_str().unwrap(),
        "1",
        "2",
    ])
    .assert_error("not made by this installation");
    // The real one runs.
    faasm_run([
        "--invoke",
        "add",
        write(&dir, "good.faasm", &good).to_str().unwrap(),
        "1",
        "2",
    ])
    .assert_ok(0, "3\n");
}

#[test]
fn bad_invocations_are_one_line_errors() {
    let (w, _) = fixture();
    let file = w.to_str().unwrap();
    faasm_run(["--invoke", "nope", file]).assert_error("no export named `nope`");
    faasm_run(["--invoke", "memory", file]).assert_error("not a function");
    faasm_run(["--invoke", "counter", file]).assert_error("not a function");
    faasm_run(["--invoke", "add", file, "1"]).assert_error("takes 2 argument(s), 1 given");
    faasm_run(["--invoke", "add", file, "1", "2", "3"])
        .assert_error("takes 2 argument(s), 3 given");
    faasm_run(["--invoke", "add", file, "1", "two"]).assert_error("argument 2 of `add`");
    faasm_run(["--invoke", "add", file, "1", "4294967296"]).assert_error("out of range");
    faasm_run(["--invoke", "half32", file, "x"]).assert_error("as f32");
    faasm_run(["--invoke", "nothing", file, "extra"]).assert_error("takes 0 argument(s)");
    // No --invoke and no _start.
    faasm_run([file]).assert_error("no `_start` export");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["--env", "NOEQUALS", "demo"],
        &["--bogus", "demo"],
    ] {
        let run = faasm_run(args);
        assert_eq!(run.code, Some(2), "{run:#?}");
        assert_eq!(run.signal, None);
        assert!(run.stderr.starts_with("error:"), "{run:#?}");
    }
    let help = faasm_run(["--help"]);
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("Exit status"), "{help:#?}");
}

/// `faasm-run bench cold-start` reports every figure, and a restored
/// Faaslet really runs the call (a trapping `--call` is an error).
#[test]
fn bench_cold_start_reports_its_figures() {
    let dir = scratch_dir("bench");
    let m = write(
        &dir,
        "m.wat",
        br#"(module (memory 2) (data (i32.const 8) "x")
             (func (export "init") (i32.store (i32.const 70000) (i32.const 1)))
             (func (export "noop"))
             (func (export "boom") unreachable))"#,
    );
    let m = m.to_str().unwrap();
    let run = faasm_run([
        "bench",
        "cold-start",
        m,
        "--init",
        "init",
        "--call",
        "noop",
        "--instances",
        "20",
        "--max-live",
        "50",
        "--json",
    ]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    for key in [
        "restore_call_us",
        "fresh_call_us",
        "rss_per_faaslet_kib",
        "pss_per_faaslet_kib",
        "max_live_faaslets\":50",
        "starts_per_s_1t",
        "starts_per_s_2t",
    ] {
        assert!(run.stdout.contains(key), "{key} missing: {run:#?}");
    }
    faasm_run([
        "bench",
        "cold-start",
        m,
        "--call",
        "boom",
        "--max-live",
        "1",
    ])
    .assert_error("unreachable");
}

/// Usage errors exit 2 in every command, with clap's `error:` message.
#[test]
fn usage_errors_exit_2_in_every_command() {
    for args in [
        &["invoke"][..],
        &["invoke", "not-user-slash-func"],
        &["invoke", "a/b", "--workers", "0"],
        &["upload", "a/b"],
        &["upload", "nouser", "x.wasm"],
        &["list", "extra"],
        &["bench", "cold-start"],
        &["demo", "sgd", "--bogus"],
        &["help", "nope"],
        &["run"],
    ] {
        let run = faasm_run(args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:#?}");
        assert_eq!(run.signal, None);
        assert!(run.stderr.starts_with("error:"), "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "", "{args:?}");
    }
}

/// `--help` and `help` list every command; `help COMMAND` is that
/// command's own help; `run FILE` is `FILE`.
#[test]
fn help_lists_and_explains_every_command() {
    let all = faasm_run(["--help"]);
    assert_eq!(all.code, Some(0), "{all:#?}");
    assert_eq!(faasm_run(["help"]).stdout, all.stdout);
    for (cmd, usage) in [
        ("run", "FILE [ARGS]..."),
        ("demo", "demo sgd"),
        ("upload", "faasm-run upload"),
        ("invoke", "--input"),
        ("list", "faasm-run list"),
        ("bench", "cold-start"),
        ("help", "Commands"),
    ] {
        let line = all
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("  {cmd} ")));
        assert!(line.is_some(), "no line for {cmd} in {}", all.stdout);
        let one = faasm_run(["help", cmd]);
        assert_eq!(one.code, Some(0), "help {cmd}: {one:#?}");
        assert!(one.stdout.contains(usage), "help {cmd}: {one:#?}");
    }
    let sgd = faasm_run(["help", "demo", "sgd"]);
    assert_eq!(sgd.code, Some(0));
    assert!(sgd.stdout.contains("--workers"), "{sgd:#?}");
    faasm_run(["run", "demo", "you"]).assert_ok(0, "Hello, you!\n");
}

/// Source files and artifacts given to `upload` say what to do instead.
#[test]
fn upload_names_source_and_artifacts() {
    let dir = scratch_dir("upload-mixups");
    let c = write(&dir, "hello.c", b"int main(void) { return 0; }\n");
    let run = faasm_run(["upload", "demo/hello", c.to_str().unwrap()]);
    run.assert_error(
        "is C/C++ source; compile it to WebAssembly first (clang --target=wasm32-wasi",
    );
    let (_, a) = fixture();
    faasm_run(["upload", "demo/fixture", a.to_str().unwrap()])
        .assert_error("is a compiled faasm artifact; upload the .wasm");
    // Run directly, the same source gets the same advice.
    faasm_run([c.to_str().unwrap()]).assert_error(
        "is C/C++ source; compile it to WebAssembly first (clang --target=wasm32-wasi",
    );
}

/// A function written against the Faasm SDK needs `upload` and `invoke`:
/// running it directly says so instead of only naming the import.
#[test]
fn sdk_functions_run_directly_get_a_hint() {
    let dir = scratch_dir("sdk-direct");
    let m = write(
        &dir,
        "sdk.wasm",
        &wat(r#"(module
          (import "env" "__faasm_read_input" (func (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "_start")))"#),
    );
    faasm_run([m.to_str().unwrap()]).assert_error(
        "imports the Faasm call `env`.`__faasm_read_input`, which only stored functions get; \
         run it as a function: faasm-run upload USER/FUNC FILE, then faasm-run invoke USER/FUNC",
    );
    // Other missing imports keep the plain message.
    let m = write(
        &dir,
        "other.wasm",
        &wat(r#"(module (import "env" "mystery" (func)) (func (export "_start")))"#),
    );
    faasm_run([m.to_str().unwrap()]).assert_error("unknown import: `env`.`mystery`");
}

/// A misspelt faasm-run flag after FILE still goes to the guest (as the
/// README documents) but gets a note suggesting the flag.
#[test]
fn misspelt_flags_after_file_get_a_note() {
    let run = faasm_run(["demo", "--dri"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stdout.contains("--dri"), "still the guest's: {run:#?}");
    assert!(
        run.stderr
            .contains("note: \"--dri\" comes after FILE, so it goes to the guest; for faasm-run's --dir, put it before FILE"),
        "{run:#?}"
    );
    let (w, _) = fixture();
    let run = faasm_run([w.to_str().unwrap(), "--invok", "add"]);
    assert!(run.stderr.contains("faasm-run's --invoke"), "{run:#?}");
    // Exact flags after FILE are meant for the guest: no note.
    let run = faasm_run(["demo", "--env"]);
    assert_eq!(run.stderr, "", "{run:#?}");
}

/// A stored function that prints, then traps: `invoke` shows what it
/// printed (stdout) and the trap, naming the function (stderr).
#[test]
fn invoke_keeps_output_printed_before_a_trap() {
    let dir = scratch_dir("print-trap");
    let m = write(
        &dir,
        "printtrap.wat",
        br#"(module
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "got this far\n")
          (func $compute_pi
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 13))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            unreachable)
          (func $main (call $compute_pi))
          (func (export "_start") (call $main)))"#,
    );
    let up = faasm_run(["upload", "cli/printtrap", m.to_str().unwrap()]);
    assert_eq!(up.code, Some(0), "{up:#?}");
    let run = faasm_run(["invoke", "cli/printtrap"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert_eq!(run.stdout, "got this far\n", "{run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].starts_with("faasm-run: error: cli/printtrap: "),
        "{run:#?}"
    );
    assert!(lines[0].contains("unreachable"), "{run:#?}");
    assert!(lines[0].contains("`compute_pi`"), "named: {run:#?}");
    // Then the wasm backtrace, innermost first, by name where there is one.
    assert_eq!(
        lines[1..],
        [
            "wasm backtrace:",
            "   0: `compute_pi` (function 1)",
            // `main` is small: compiled into `_start`, still listed.
            "   1: `main` (function 2), inlined",
            "   2: function 3",
        ],
        "{run:#?}"
    );

    // Running the file directly shows the same backtrace.
    let direct = faasm_run([m.to_str().unwrap()]);
    assert_eq!(direct.code, Some(1), "{direct:#?}");
    assert!(
        direct.stderr.contains("   1: `main` (function 2)"),
        "{direct:#?}"
    );
}
