//! The compile cache of `faasm-run FILE.wasm`: a second run loads the
//! cached artifact instead of compiling, a corrupted entry is compiled
//! again (never trusted), and `--no-cache` leaves the cache alone.

mod common;

use common::{scratch_dir, wat, write};
use std::path::{Path, PathBuf};
use std::process::Command;

const ADD: &str = r#"(module (func (export "add") (param i32 i32) (result i32)
  (i32.add (local.get 0) (local.get 1))))"#;
const SUB: &str = r#"(module (func (export "add") (param i32 i32) (result i32)
  (i32.sub (local.get 0) (local.get 1))))"#;

/// `faasm-run [flags] --invoke add FILE 1 2` under `home`: its stdout.
fn add(home: &Path, file: &Path, flags: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_faasm-run"))
        .env("FAASM_HOME", home)
        .args(flags)
        .args(["--invoke", "add"])
        .arg(file)
        .args(["1", "2"])
        .output()
        .expect("faasm-run runs");
    assert!(
        out.status.success(),
        "faasm-run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn entries(home: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(home.join("cache/compiled"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_second_run_loads_the_cached_artifact_and_a_bad_entry_is_compiled_again() {
    let dir = scratch_dir("compile-cache");
    let home = dir.join("home");
    let add_wasm = write(&dir, "add.wasm", &wat(ADD));
    let sub_wasm = write(&dir, "sub.wasm", &wat(SUB));

    // First runs compile and leave one entry per module.
    assert_eq!(add(&home, &sub_wasm, &[]), "-1\n");
    let sub_entry = entries(&home);
    assert_eq!(sub_entry.len(), 1, "one entry: {sub_entry:?}");
    assert_eq!(add(&home, &add_wasm, &[]), "3\n");
    let add_entry: Vec<_> = entries(&home)
        .into_iter()
        .filter(|e| !sub_entry.contains(e))
        .collect();
    assert_eq!(add_entry.len(), 1, "a second entry");
    let add_entry = &add_entry[0];

    // Proof that a run loads the entry and compiles nothing: with the SUB
    // module's (validly tagged) code planted under ADD's name, running
    // ADD runs SUB's code.
    let good = std::fs::read(add_entry).unwrap();
    std::fs::copy(&sub_entry[0], add_entry).unwrap();
    assert_eq!(add(&home, &add_wasm, &[]), "-1\n", "the cached code ran");
    // `--no-cache` compiles the file itself, and leaves the entry alone.
    assert_eq!(add(&home, &add_wasm, &["--no-cache"]), "3\n");
    assert_eq!(
        std::fs::read(add_entry).unwrap(),
        std::fs::read(&sub_entry[0]).unwrap()
    );

    // A corrupted entry fails its tag: compiled again, and replaced.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    std::fs::write(add_entry, &bad).unwrap();
    assert_eq!(add(&home, &add_wasm, &[]), "3\n");
    assert_eq!(std::fs::read(add_entry).unwrap(), good, "entry rewritten");
    // A truncated one too.
    std::fs::write(add_entry, &good[..good.len() / 3]).unwrap();
    assert_eq!(add(&home, &add_wasm, &[]), "3\n");
    assert_eq!(std::fs::read(add_entry).unwrap(), good, "entry rewritten");

    // A .wat file shares the entry of its binary.
    let add_wat = write(&dir, "add.wat", ADD.as_bytes());
    assert_eq!(add(&home, &add_wat, &[]), "3\n");
    assert_eq!(entries(&home).len(), 2, "no new entry for the text form");

    // Without the cache nothing is written.
    let fresh = dir.join("fresh-home");
    assert_eq!(add(&fresh, &add_wasm, &["--no-cache"]), "3\n");
    assert!(entries(&fresh).is_empty());
}
