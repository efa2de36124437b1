//! `faasmc` from the outside: exit codes and one-line errors.

mod common;
use common::wat;
use faasm_testutil::scratch_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `$FAASM_HOME` every faasmc run here uses (its artifact key).
fn home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| scratch_dir("faasmc-cli-home"))
}

fn faasmc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faasmc"))
        .env("FAASM_HOME", home())
        .args(args)
        .output()
        .expect("running faasmc")
}

/// A scratch directory unique to the test.
fn scratch(name: &str) -> PathBuf {
    scratch_dir(&format!("faasmc-cli-{name}"))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit code 1 and exactly one stderr line starting `faasmc: error:`.
fn assert_one_line_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("faasmc: error: "), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

/// Like [`assert_one_line_error`], for command-line usage errors: exit 2.
fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("faasmc: error: "), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

#[test]
fn no_arguments_prints_the_usage() {
    let out = faasmc(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("Usage: faasmc <COMMAND>"), "{stderr}");
    assert!(
        stderr.contains("compile") && stderr.contains("info"),
        "{stderr}"
    );
}

/// Files that are not WebAssembly are named for what they are, without
/// wasmparser's dump of the magic bytes.
#[test]
fn non_wasm_inputs_say_what_they_are() {
    let dir = scratch("notwasm");
    let out = dir.join("out.faasm");
    let artifact = dir.join("a.faasm");
    std::fs::write(dir.join("m.wasm"), wat("(module)")).unwrap();
    let m = dir.join("m.wasm");
    assert!(
        faasmc(&["compile", path(&m), "-o", path(&artifact)])
            .status
            .success()
    );
    for (name, bytes, needle) in [
        (
            "hello.c",
            b"int main(void) { return 0; }\n".to_vec(),
            "it is text (source code?",
        ),
        (
            "a.faasm",
            std::fs::read(&artifact).unwrap(),
            "it is already a faasm artifact",
        ),
        ("empty.wasm", Vec::new(), "it is empty"),
        (
            "bin.wasm",
            vec![0xff, 0xfe, 0x00, 0x01],
            "it does not start with the WebAssembly magic",
        ),
    ] {
        let input = dir.join(name);
        std::fs::write(&input, bytes).unwrap();
        let o = faasmc(&["compile", path(&input), "-o", path(&out)]);
        assert_one_line_error(&o, &format!("{name}: not a WebAssembly module: {needle}"));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("0x"), "no byte dump: {stderr}");
    }
}

#[test]
fn compile_then_info() {
    let dir = scratch("ok");
    let input = dir.join("m.wasm");
    let output = dir.join("m.faasm");
    std::fs::write(
        &input,
        wat(r#"(module (import "env" "f" (func)) (memory (export "mem") 1))"#),
    )
    .unwrap();
    let out = faasmc(&["compile", path(&input), "-o", path(&output), "--timings"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for word in ["validation", "translation", "codegen", "total", "MB/s"] {
        assert!(stdout.contains(word), "{word} missing from: {stdout}");
    }

    let out = faasmc(&["info", path(&output)]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&faasm_compiler::version()), "{stdout}");
    assert!(stdout.contains(&faasm_compiler::host_target()), "{stdout}");
    assert!(stdout.contains("\"mem\" memory 0"), "{stdout}");
    assert!(stdout.contains("1 host"), "{stdout}");
}

#[test]
fn explicit_bounds_and_options_reach_the_artifact() {
    let dir = scratch("opts");
    let input = dir.join("m.wasm");
    let output = dir.join("m.faasm");
    let small_callee = r#"(module (memory 1)
        (func $f (result i32) i32.const 1)
        (func (export "g") (result i32) call $f))"#;
    std::fs::write(&input, wat(small_callee)).unwrap();
    let out = faasmc(&[
        "compile",
        path(&input),
        "-o",
        path(&output),
        "--explicit-bounds",
        "--poll-interrupts",
        "--opt-level",
        "none",
        "--sequential",
        "--no-inline",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = faasm_abi::ArtifactKey::load_or_create(&faasm_abi::key::key_path(home())).unwrap();
    let a = faasm_abi::Artifact::deserialize(&std::fs::read(&output).unwrap(), &key).unwrap();
    assert_eq!(a.memory_strategy, faasm_abi::MemoryStrategy::Explicit);
    assert!(a.poll_interrupts);
    assert_eq!(a.inlined, []);
    // By default the callee is inlined, and `info` says so.
    assert!(
        faasmc(&["compile", path(&input), "-o", path(&output)])
            .status
            .success()
    );
    let out = String::from_utf8_lossy(&faasmc(&["info", path(&output)]).stdout).into_owned();
    assert!(
        out.contains("inlined:    1 function(s) copied into callers"),
        "{out}"
    );
}

#[test]
fn wat_input_is_accepted() {
    let dir = scratch("wat");
    let input = dir.join("m.wat");
    let output = dir.join("m.faasm");
    std::fs::write(&input, r#"(module (import "a" "b" (func (param i32))))"#).unwrap();
    assert!(
        faasmc(&["compile", path(&input), "-o", path(&output)])
            .status
            .success()
    );
    std::fs::write(&input, "(module (func $f) (func $f))").unwrap();
    assert_one_line_error(
        &faasmc(&["compile", path(&input), "-o", path(&output)]),
        "m.wat:1:",
    );
}

#[test]
fn errors_are_one_line() {
    let dir = scratch("errors");
    let out_path = dir.join("out.faasm");
    let out = path(&out_path);

    assert_one_line_error(
        &faasmc(&["compile", "/nonexistent/x.wasm", "-o", out]),
        "cannot read",
    );

    let garbage = dir.join("garbage.wasm");
    std::fs::write(&garbage, b"\x7fELF definitely not wasm").unwrap();
    assert_one_line_error(
        &faasmc(&["compile", path(&garbage), "-o", out]),
        "garbage.wasm: not a WebAssembly module: it is an ELF native binary",
    );

    let truncated = dir.join("truncated.wasm");
    let wasm = wat(r#"(module (import "env" "f" (func (param i32))))"#);
    std::fs::write(&truncated, &wasm[..wasm.len() - 3]).unwrap();
    assert_one_line_error(&faasmc(&["compile", path(&truncated), "-o", out]), "offset");

    let bad_body = dir.join("bad.wasm");
    std::fs::write(
        &bad_body,
        wat("(module (func) (func (result i32) i64.const 0))"),
    )
    .unwrap();
    let o = faasmc(&["compile", path(&bad_body), "-o", out]);
    assert_one_line_error(&o, "in function 1");
    assert_one_line_error(&o, "byte offset 0x");
    assert!(!out_path.exists(), "no artifact after a failed compile");

    // Usage errors: one line too, but exit status 2.
    assert_usage_error(&faasmc(&["compile", path(&bad_body)]), "--output");
    assert_usage_error(&faasmc(&["frobnicate"]), "frobnicate");
    assert_usage_error(
        &faasmc(&["compile", path(&bad_body), "-o", out, "--guard", "lots"]),
        "not a size",
    );

    // `info` on things that are not artifacts.
    assert_one_line_error(&faasmc(&["info", path(&garbage)]), "bad magic");
    let good = dir.join("good.faasm");
    std::fs::write(&bad_body, wat("(module (memory 1))")).unwrap();
    assert!(
        faasmc(&["compile", path(&bad_body), "-o", path(&good)])
            .status
            .success()
    );
    let mut bytes = std::fs::read(&good).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&good, &bytes).unwrap();
    assert_one_line_error(
        &faasmc(&["info", path(&good)]),
        "not made by this installation",
    );
    std::fs::write(&good, &bytes[..20]).unwrap();
    assert_one_line_error(&faasmc(&["info", path(&good)]), "corrupted");
}
