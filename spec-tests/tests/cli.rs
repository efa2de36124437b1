//! The `faasm-spec` command line: output shape and exit codes.

use std::path::PathBuf;
use std::process::Command;

fn faasm_spec(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_faasm-spec"))
        .args(args)
        .output()
        .expect("run faasm-spec");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 output"),
    )
}

/// A fresh folder with `files` written into it.
fn folder(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faasm-spec-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

const GOOD: &str = r#"
(module (func (export "one") (result i32) i32.const 1))
(assert_return (invoke "one") (i32.const 1))
"#;
const BAD: &str = r#"
(module (func (export "one") (result i32) i32.const 1))
(assert_return (invoke "one") (i32.const 7))
(assert_exception (invoke "one"))
"#;

#[test]
fn passing_folder_prints_files_group_total_and_closing_line() {
    let dir = folder("pass", &[("a.wast", GOOD), ("b.wast", GOOD)]);
    let (code, out) = faasm_spec(&[dir.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(code, 0, "{out}");
    assert!(
        lines[0].ends_with("a.wast: 2 passed, 0 failed, 0 skipped"),
        "{out}"
    );
    assert!(
        lines[1].ends_with("b.wast: 2 passed, 0 failed, 0 skipped"),
        "{out}"
    );
    assert!(
        lines[2].ends_with("total: 4 passed, 0 failed, 0 skipped"),
        "{out}"
    );
    assert_eq!(
        lines.last(),
        Some(&"4 passed, 0 failed, 0 skipped"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn failures_exit_one_and_verbose_names_them() {
    let dir = folder("fail", &[("bad.wast", BAD)]);
    let file = dir.join("bad.wast");
    let (code, out) = faasm_spec(&["--verbose", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL 3:2 assert_return"), "{out}");
    assert!(out.contains("SKIP 4:2 assert_exception"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("1 passed, 1 failed, 1 skipped"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn json_report_is_machine_readable() {
    let dir = folder("json", &[("bad.wast", BAD)]);
    let (code, out) = faasm_spec(&["--json", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["total"]["failed"], 1);
    assert_eq!(
        v["groups"][0]["files"][0]["failures"][0]["directive"],
        "assert_return"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn usage_and_io_errors_exit_two() {
    assert_eq!(faasm_spec(&[]).0, 2);
    assert_eq!(faasm_spec(&["/nonexistent/x.wast"]).0, 2);
    assert_eq!(faasm_spec(&["suite:wasm-v9"]).0, 2);
}

#[test]
fn isolated_run_matches_in_process_run() {
    let (code, out) = faasm_spec(&["--isolate", "suite:wasm-v2/fac.wast"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().last(), Some("8 passed, 0 failed, 0 skipped"));
}
