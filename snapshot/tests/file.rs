//! The snapshot file: round trip, and every kind of bad input is an error.

use faasm_runtime::{Engine, InstanceOptions, Linker, Module, Val};
use faasm_snapshot::{SnapshotError, decode, encode, fingerprint, initialise};
use faasm_testutil::wat;

/// `faasm_init` counts its runs in a global and in memory.
const SRC: &str = r#"(module
  (memory (export "memory") 2)
  (global $runs (export "runs") (mut i32) (i32.const 0))
  (data (i32.const 8) "data")
  (func (export "faasm_init")
    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
    (i32.store (i32.const 70000) (global.get $runs)))
  (func (export "at") (param i32) (result i32) (i32.load (local.get 0))))"#;

fn setup() -> (Linker, Module, faasm_runtime::Snapshot) {
    let engine = Engine::default();
    let linker = Linker::new(&engine);
    let m = Module::new(&engine, &wat(SRC)).unwrap();
    let s = initialise(&linker, &m, InstanceOptions::default()).unwrap();
    (linker, m, s)
}

fn at(i: &faasm_runtime::Instance, addr: i32) -> i32 {
    match i.get_func("at").unwrap().call(&[Val::I32(addr)]).unwrap()[..] {
        [Val::I32(v)] => v,
        ref r => panic!("{r:?}"),
    }
}

#[test]
fn initialisation_runs_once_and_survives_a_round_trip() {
    let (linker, m, s) = setup();
    let fp = fingerprint(&m.serialize());
    let bytes = encode(&s, &fp).unwrap();
    let back = decode(&bytes, &m, &fp).unwrap();
    for snap in [&s, &back] {
        let i = linker
            .instantiate_snapshot(snap, InstanceOptions::default())
            .unwrap();
        assert_eq!(at(&i, 70000), 1, "init ran exactly once");
        assert_eq!(at(&i, 8), i32::from_le_bytes(*b"data"));
    }
    // Only non-zero pages are stored: far less than the 128 KiB memory.
    assert!(bytes.len() < 16 << 10, "{} bytes", bytes.len());
}

#[test]
fn bad_files_are_errors() {
    let (_linker, m, s) = setup();
    let fp = fingerprint(&m.serialize());
    let good = encode(&s, &fp).unwrap();
    assert!(matches!(
        decode(b"nonsense", &m, &fp),
        Err(SnapshotError::BadMagic)
    ));
    assert!(matches!(
        decode(&good[..20], &m, &fp),
        Err(SnapshotError::Decode(_))
    ));
    assert!(matches!(
        decode(&good, &m, &[0; 32]),
        Err(SnapshotError::OtherArtifact)
    ));
    let mut v = good.clone();
    v[8] = 99;
    assert!(matches!(
        decode(&v, &m, &fp),
        Err(SnapshotError::Version { found: 99 })
    ));
    for i in [76, good.len() / 2, good.len() - 1] {
        let mut c = good.clone();
        c[i] ^= 0x10;
        assert!(
            matches!(decode(&c, &m, &fp), Err(SnapshotError::Checksum)),
            "byte {i}"
        );
    }
    assert!(decode(&good[..good.len() - 1], &m, &fp).is_err());
    // The right checksum over a body for another module: it does not fit.
    let engine = Engine::default();
    let other = Module::new(
        &engine,
        &wat("(module (memory 1) (global (mut i64) (i64.const 0)))"),
    )
    .unwrap();
    assert!(matches!(
        decode(&good, &other, &fp),
        Err(SnapshotError::Mismatch(_))
    ));
}
