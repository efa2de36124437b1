//! Proto-Faaslets in the executor: every call starts from the snapshot
//! taken after initialisation, in a Faaslet that is reset and reused.

mod common;
use common::{scratch_dir, wat};
use faasm::executor::limits::Limits;
use faasm::executor::store::FunctionStore;
use faasm::executor::{Executor, ExecutorConfig};
use std::path::Path;

const IMPORTS: &str = r#"
  (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
  (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
"#;

/// `faasm_init` counts its runs; every call outputs the count, the word
/// at 4096 (a secret a call may have written), the memory size, and then
/// writes its input at 4096, grows memory and sets the global to 100.
const SECRETS: &str = r#"
  (memory (export "memory") 1)
  (global $inits (mut i32) (i32.const 0))
  (func (export "faasm_init")
    (global.set $inits (i32.add (global.get $inits) (i32.const 1))))
  (func (export "_start")
    (i32.store (i32.const 0) (global.get $inits))
    (i32.store (i32.const 4) (i32.load (i32.const 4096)))
    (i32.store (i32.const 8) (memory.size))
    (call $write_output (i32.const 0) (i32.const 12))
    (drop (call $read_input (i32.const 4096) (i32.const 4)))
    (drop (memory.grow (i32.const 3)))
    (global.set $inits (i32.const 100)))
"#;

fn executor(home: &Path, snapshots: bool) -> Executor {
    Executor::new(
        FunctionStore::new(home),
        ExecutorConfig {
            workers: 1,
            snapshots,
            limits: Limits::default(),
            ..ExecutorConfig::default()
        },
    )
}

fn words(out: &[u8]) -> Vec<u32> {
    out.chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn module(body: &str) -> Vec<u8> {
    wat(&format!("(module {IMPORTS} {body})"))
}

#[test]
fn no_call_sees_what_another_wrote_and_init_runs_once() {
    for snapshots in [true, false] {
        let home = scratch_dir("snap-secrets");
        let exec = executor(&home, snapshots);
        exec.upload("alice", "f", &module(SECRETS)).unwrap();
        assert_eq!(exec.has_snapshot("alice", "f").unwrap(), snapshots);
        for round in 0..5 {
            let r = exec.invoke("alice", "f", 0x5ec2e7u32.to_le_bytes().to_vec());
            assert!(!r.failed, "{r:?}");
            // init ran once (in the snapshot, or for this fresh instance),
            // no earlier secret, the original memory size.
            assert_eq!(
                words(&r.output),
                [1, 0, 1],
                "round {round}, snapshots {snapshots}"
            );
        }
        if snapshots {
            assert_eq!(exec.idle_faaslets("alice", "f"), 1, "one Faaslet, reused");
            assert!(home.join("functions/alice/f/function.snap").is_file());
        }
    }
}

#[test]
fn a_trapped_faaslet_is_not_reused() {
    let home = scratch_dir("snap-trap");
    let exec = executor(&home, true);
    exec.upload(
        "alice",
        "t",
        &module(
            r#"(memory (export "memory") 1)
               (func (export "_start")
                 (if (i32.load (i32.const 64)) (then unreachable))
                 (i32.store (i32.const 64) (i32.const 1))
                 (call $write_output (i32.const 64) (i32.const 4)))"#,
        ),
    )
    .unwrap();
    for _ in 0..3 {
        let r = exec.invoke("alice", "t", vec![]);
        assert!(!r.failed, "every call starts with 0 at 64: {r:?}");
    }
    assert_eq!(exec.idle_faaslets("alice", "t"), 1);
    // A call that traps leaves nothing behind to reuse.
    exec.upload(
        "alice",
        "boom",
        &module(r#"(memory (export "memory") 1) (func (export "_start") unreachable)"#),
    )
    .unwrap();
    assert!(exec.invoke("alice", "boom", vec![]).failed);
    assert_eq!(exec.idle_faaslets("alice", "boom"), 0);
}

#[test]
fn a_bad_snapshot_file_is_made_again() {
    let home = scratch_dir("snap-bad");
    let exec = executor(&home, true);
    exec.upload("alice", "f", &module(SECRETS)).unwrap();
    let snap = home.join("functions/alice/f/function.snap");
    let good = std::fs::read(&snap).unwrap();
    for bad in [b"garbage".to_vec(), good[..good.len() / 2].to_vec(), {
        let mut b = good.clone();
        let last = b.len() - 1;
        b[last] ^= 1;
        b
    }] {
        std::fs::write(&snap, &bad).unwrap();
        // A new executor (a new process) finds the broken file.
        let exec = executor(&home, true);
        let r = exec.invoke("alice", "f", vec![0; 4]);
        assert_eq!(words(&r.output), [1, 0, 1], "{r:?}");
        assert_eq!(std::fs::read(&snap).unwrap(), good, "rewritten");
    }
}

#[test]
fn a_function_whose_init_fails_reports_it_per_call() {
    let home = scratch_dir("snap-initfail");
    let exec = executor(&home, true);
    exec.upload(
        "alice",
        "f",
        &module(r#"(memory 1) (func (export "faasm_init") unreachable) (func (export "_start"))"#),
    )
    .unwrap();
    assert!(!exec.has_snapshot("alice", "f").unwrap());
    let r = exec.invoke("alice", "f", vec![]);
    assert!(r.failed, "{r:?}");
    assert!(
        String::from_utf8_lossy(&r.output).contains("unreachable"),
        "{r:?}"
    );
}
