//! `--profile perfmap`: `faasm-run FILE` and `faasm-run invoke` write
//! /tmp/perf-PID.map naming the guest's wasm functions, and nothing
//! without the flag.

mod common;

use common::{FAASM_RUN, Run, scratch_dir, test_home, wat, write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A loop in a named function called by another, plus one without a
/// name; `_start` for the executor, `run` for `--invoke`.
const KERNEL: &str = r#"(module $ignored_for_the_file_stem
  (memory (export "memory") 1)
  (func $alpha (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l))
    (local.get $acc))
  (func $beta (export "run") (param i32) (result i32)
    (i32.add (call $alpha (local.get 0)) (call 2)))
  (func (result i32) (i32.const 1))
  (func (export "_start") (drop (call $beta (i32.const 100)))))"#;

/// Runs `faasm-run ARGS` with `FAASM_HOME` = `home`; its pid and what it
/// did.
fn run_with_pid(home: &Path, args: &[&str]) -> (u32, Run) {
    let child = Command::new(FAASM_RUN)
        .args(args)
        .env("FAASM_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start faasm-run");
    let pid = child.id();
    (pid, child.wait_with_output().unwrap().into())
}

/// Removes the map of a finished child when dropped, also when a check
/// fails.
struct MapFile(PathBuf);

impl MapFile {
    fn of(pid: u32) -> MapFile {
        MapFile(PathBuf::from(format!("/tmp/perf-{pid}.map")))
    }

    /// `(start, size, name)` of every line, START and SIZE parsed as hex.
    fn lines(&self) -> Vec<(u64, u64, String)> {
        let text = std::fs::read_to_string(&self.0)
            .unwrap_or_else(|e| panic!("{}: {e}", self.0.display()));
        assert!(text.ends_with('\n'), "{text:?}");
        text.lines()
            .map(|line| {
                let mut parts = line.splitn(3, ' ');
                let mut hex = || {
                    let field = parts.next().unwrap_or_else(|| panic!("{line:?}"));
                    u64::from_str_radix(field, 16).unwrap_or_else(|e| panic!("{line:?}: {e}"))
                };
                let (start, size) = (hex(), hex());
                (start, size, parts.next().unwrap().to_string())
            })
            .collect()
    }
}

impl Drop for MapFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The map lists `module`'s functions with non-zero, non-overlapping
/// ranges.
fn assert_names_functions(map: &MapFile, module: &str) {
    let lines = map.lines();
    for func in ["alpha", "beta", "func[2]", "func[3]"] {
        let name = format!("wasm[{module}]::{func}");
        let hits: Vec<_> = lines.iter().filter(|l| l.2 == name).collect();
        assert_eq!(hits.len(), 1, "{name} in {lines:#?}");
        assert!(hits[0].0 > 0 && hits[0].1 > 0, "{hits:?}");
    }
    let mut ranges: Vec<_> = lines
        .iter()
        .filter(|l| l.2.starts_with(&format!("wasm[{module}]::")))
        .map(|l| (l.0, l.0 + l.1))
        .collect();
    ranges.sort();
    assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0), "{lines:#?}");
}

#[test]
fn faasm_run_writes_a_perf_map_only_when_asked() {
    let dir = scratch_dir("profile");
    let file = write(&dir, "kernel.wasm", &wat(KERNEL));
    let file = file.to_str().unwrap();
    for cache in [&["--no-cache"][..], &[]] {
        let mut args = vec!["--profile", "perfmap"];
        args.extend(cache);
        args.extend(["--invoke", "run", file, "3"]);
        let (pid, run) = run_with_pid(test_home(), &args);
        let map = MapFile::of(pid);
        run.assert_ok(0, "7\n");
        assert_names_functions(&map, "kernel");
    }
    // From a .wat file (the same module, so through the same cache
    // entry): the file's stem names the module.
    let text = write(&dir, "textual.wat", KERNEL.as_bytes());
    let (pid, run) = run_with_pid(
        test_home(),
        &[
            "--profile",
            "perfmap",
            "--invoke",
            "run",
            text.to_str().unwrap(),
            "3",
        ],
    );
    let map = MapFile::of(pid);
    run.assert_ok(0, "7\n");
    assert_names_functions(&map, "textual");

    let (pid, run) = run_with_pid(test_home(), &["--invoke", "run", file, "3"]);
    run.assert_ok(0, "7\n");
    let map = MapFile::of(pid);
    assert!(
        !map.0.exists(),
        "{} written without --profile",
        map.0.display()
    );
}

#[test]
fn unknown_profile_strategies_are_usage_errors() {
    let (_, run) = run_with_pid(test_home(), &["--profile", "vtune", "demo"]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("'vtune'"), "{run:#?}");
    assert!(run.stderr.contains("perfmap"), "{run:#?}");
}

#[test]
fn invoke_writes_a_perf_map_naming_the_function() {
    let home = scratch_dir("profile-home");
    let dir = scratch_dir("profile-fn");
    let file = write(&dir, "kernel.wasm", &wat(KERNEL));
    let (_, up) = run_with_pid(&home, &["upload", "alice/kernel", file.to_str().unwrap()]);
    assert_eq!(up.code, Some(0), "{up:#?}");
    for snapshots in [&[][..], &["--no-snapshots"]] {
        let mut args = vec![
            "invoke",
            "alice/kernel",
            "--input",
            "",
            "--profile",
            "perfmap",
        ];
        args.extend(snapshots);
        let (pid, run) = run_with_pid(&home, &args);
        let map = MapFile::of(pid);
        assert_eq!(run.code, Some(0), "{run:#?}");
        assert_names_functions(&map, "alice/kernel");
    }
    let (pid, run) = run_with_pid(&home, &["invoke", "alice/kernel", "--input", ""]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let map = MapFile::of(pid);
    assert!(
        !map.0.exists(),
        "{} written without --profile",
        map.0.display()
    );
}
