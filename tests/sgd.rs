//! `faasm-run demo sgd` and `faasm-run bench sgd` end to end: both state
//! modes train (the loss falls and ends alike), shared mode is zero copy,
//! bad input is refused. Each test has its own FAASM_HOME (the demo stores
//! its function and state there).

mod common;

use common::{FAASM_RUN, Run, examples, scratch_dir};
use faasm::demo::sgd::{GUEST, SgdReport, StateMode};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn faasm_run(home: &Path, args: &[&str]) -> Run {
    Command::new(FAASM_RUN)
        .args(args)
        .env("FAASM_HOME", home)
        .stdin(Stdio::null())
        .output()
        .expect("cannot start faasm-run")
        .into()
}

/// Runs `demo sgd --json` with `args`; must succeed with one report.
fn demo(home: &Path, args: &[&str]) -> SgdReport {
    let mut all = vec!["demo", "sgd", "--json"];
    all.extend_from_slice(args);
    let run = faasm_run(home, &all);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(run.stdout.lines().count(), 1, "{run:#?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

fn home(name: &str) -> PathBuf {
    scratch_dir(name)
}

/// Small enough for a test, big enough that 2 workers each train on
/// thousands of samples.
const SMALL: [&str; 8] = [
    "--samples",
    "20000",
    "--features",
    "16384",
    "--nnz",
    "8",
    "--epochs",
    "4",
];

#[test]
fn both_modes_train_and_the_loss_falls_over_epochs() {
    let home = home("sgd-train");
    let mut finals = Vec::new();
    for state in ["shared", "copy"] {
        let mut args = vec!["--workers", "2", "--state", state];
        args.extend_from_slice(&SMALL);
        let r = demo(&home, &args);
        assert_eq!((r.workers, r.epochs, r.samples), (2, 4, 20000));
        assert_eq!(r.state.name(), state);
        assert_eq!(r.epoch_losses.len(), 4, "{r:#?}");
        // Zero weights give ln 2 on every sample; each epoch must improve
        // on the one before, and the final weights on the last epoch's
        // running loss (measured before each update).
        assert!(r.epoch_losses[0] < std::f64::consts::LN_2, "{r:#?}");
        for pair in r.epoch_losses.windows(2) {
            assert!(pair[1] < pair[0], "loss rose: {r:#?}");
        }
        assert!(r.loss < r.epoch_losses[3], "{r:#?}");
        assert!(r.loss < 0.5, "{r:#?}");
        assert!(r.time_s > 0.0 && r.peak_mem_mib > 0.0, "{r:#?}");
        // What the driver saw is what reached the global tier.
        assert!(r.weights_norm > 1.0, "{r:#?}");
        let rel = (r.weights_norm - r.global_weights_norm).abs() / r.weights_norm;
        assert!(rel < 1e-6, "{r:#?}");
        finals.push(r.loss);
    }
    // The same algorithm either way: the final losses agree closely (not
    // exactly: copy mode merges each worker's epoch at its end).
    let (shared, copy) = (finals[0], finals[1]);
    assert!((shared - copy).abs() < 0.1 * shared.max(copy), "{finals:?}");
}

/// The driver maps the weights once, before the workers run, and never
/// pulls or reads them by copy afterwards: if a mapping were a copy, its
/// view would still be the zero weights setup wrote. It sees exactly the
/// trained weights, so the workers' writes reached its memory directly.
#[test]
fn shared_mode_workers_write_into_the_drivers_memory() {
    let home = home("sgd-zero-copy");
    let mut args = vec!["--workers", "4", "--state", "shared"];
    args.extend_from_slice(&SMALL);
    let r = demo(&home, &args);
    assert!(r.global_weights_norm > 1.0, "{r:#?}");
    assert_eq!(
        r.weights_norm as f32, r.global_weights_norm as f32,
        "{r:#?}"
    );
}

/// 4 MiB of weights: copy mode holds two copies per running worker, so its
/// peak grows by tens of MiB from 1 to 8 workers; shared mode maps the one
/// vector into every worker and barely grows.
#[test]
fn memory_grows_with_workers_only_when_copying() {
    let home = home("sgd-memory");
    let size = [
        "--samples",
        "16000",
        "--features",
        "1048576",
        "--nnz",
        "8",
        "--epochs",
        "2",
    ];
    let peak = |workers: &str, state: &str| {
        let mut args = vec!["--workers", workers, "--state", state];
        args.extend_from_slice(&size);
        demo(&home, &args).peak_mem_mib
    };
    let (shared1, shared8) = (peak("1", "shared"), peak("8", "shared"));
    let (copy1, copy8) = (peak("1", "copy"), peak("8", "copy"));
    let all = format!("shared {shared1:.1} -> {shared8:.1} MiB, copy {copy1:.1} -> {copy8:.1} MiB");
    assert!(shared8 - shared1 < 8.0, "{all}");
    assert!(copy8 - copy1 > 20.0, "{all}");
    assert!(copy8 > shared8 + 20.0, "{all}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let home = home("sgd-bad");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--workers", "0", "--state", "shared"],
            "--workers must be at least 1",
        ),
        (
            &["--workers", "2", "--state", "both"],
            "unknown --state \"both\": expected shared or copy",
        ),
        (
            &["--workers", "2000", "--state", "copy"],
            "--workers must be at most 1024",
        ),
        (
            &["--workers", "1", "--state", "copy", "--epochs", "0"],
            "--epochs must be between 1 and 1000",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["demo", "sgd"];
        all.extend_from_slice(args);
        let run = faasm_run(&home, &all);
        assert_eq!(run.code, Some(2), "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "", "{run:#?}");
        assert_eq!(
            run.stderr,
            format!("faasm-run: error: {message}\n"),
            "{run:#?}"
        );
    }
    // Nothing ran: no function was stored.
    assert!(!home.join("functions").exists());
    // Other words after `demo` still go to the hello-world guest.
    faasm_run(&home, &["demo", "sgdx"]).assert_ok(0, "Hello, sgdx!\n");
}

#[test]
fn bench_runs_both_modes_per_worker_count() {
    let home = home("sgd-bench");
    let tiny = [
        "--workers",
        "1,2",
        "--epochs",
        "1",
        "--samples",
        "2000",
        "--features",
        "4096",
        "--nnz",
        "4",
    ];
    let mut args = vec!["bench", "sgd", "--json"];
    args.extend_from_slice(&tiny);
    let run = faasm_run(&home, &args);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let runs: Vec<SgdReport> = serde_json::from_value(json["runs"].clone()).unwrap();
    let seen: Vec<(u32, StateMode)> = runs.iter().map(|r| (r.workers, r.state)).collect();
    use StateMode::{Copy, Shared};
    assert_eq!(seen, [(1, Shared), (1, Copy), (2, Shared), (2, Copy)]);

    let mut args = vec!["bench", "sgd"];
    args.extend_from_slice(&tiny);
    let run = faasm_run(&home, &args);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let rows: Vec<&str> = run.stdout.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{run:#?}");
    for (row, n) in rows.iter().zip(["1", "2"]) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[0], n, "{row}");
        // time shared, copy, ratio; memory likewise; two losses.
        assert_eq!(cells[1].split_whitespace().count(), 3, "{row}");
        assert!(cells[1].ends_with('x') && cells[2].ends_with('x'), "{row}");
        assert_eq!(cells[3].split_whitespace().count(), 2, "{row}");
    }
}

/// The embedded guest is examples/c/sgd.c as examples/build.sh builds it
/// (scripts/embed-sgd.sh refreshes it), and that build runs as the demo.
#[test]
fn embedded_guest_is_the_build_of_sgd_c() {
    let dir = examples();
    let built = std::fs::read(dir.join("sgd-c.wasm")).unwrap();
    assert!(
        built == GUEST,
        "src/demo/sgd.wasm is stale: run scripts/embed-sgd.sh and commit it"
    );
    let home = home("sgd-guest");
    let guest = dir.join("sgd-c.wasm");
    let mut args = vec![
        "--workers",
        "1",
        "--state",
        "copy",
        "--guest",
        guest.to_str().unwrap(),
    ];
    args.extend_from_slice(&SMALL);
    let r = demo(&home, &args);
    assert!(r.loss < r.epoch_losses[0], "{r:#?}");
}

#[test]
fn the_demo_trains_against_redis_with_state_store() {
    let server = faasm_hostif::faasm::global::testing::RedisServer::start("sgd_state_store_redis");
    let home = home("sgd-redis");
    let url = server.url();
    let mut args = vec!["--workers", "2", "--state", "shared", "--state-store", &url];
    args.extend_from_slice(&SMALL);
    let r = demo(&home, &args);
    // The weights read back by a fresh executor came from Redis: the
    // embedded store under this home was never written.
    assert!(r.global_weights_norm > 0.0, "{r:#?}");
    assert!((r.global_weights_norm - r.weights_norm).abs() < 1e-6 * r.weights_norm);
    assert!(!home.join("state").join("sgd").exists());
    // Redis down: a clear error, not the embedded store.
    drop(server);
    let run = faasm_run(
        &home,
        &[
            "demo",
            "sgd",
            "--workers",
            "1",
            "--state",
            "shared",
            "--state-store",
            &url,
        ],
    );
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(run.stderr.contains("cannot connect"), "{run:#?}");
}
