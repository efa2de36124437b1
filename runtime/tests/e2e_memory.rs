//! End-to-end: linear memories under both SFI strategies, and loading
//! modules from artifacts and files.

mod common;
use common::*;
use faasm_runtime::{
    Config, Engine, Error, Linker, Memory, MemoryStrategy, MemoryType, Module, TrapKind, Val,
};

const GROW: &str = r#"(module
  (memory (export "mem") 1 200)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "load_far") (param i32) (result i32) local.get 0 i32.load offset=0x7fffffff))"#;

fn exercise(engine: &Engine) {
    let inst = Linker::new(engine)
        .instantiate(&module(engine, GROW))
        .unwrap();
    let i = |v: i32| Val::I32(v);
    call(&inst, "store", &[i(65532), i(0x1234_5678)]).unwrap();
    assert_eq!(
        trap(call(&inst, "load", &[i(65536)])).kind(),
        Some(TrapKind::MemoryOutOfBounds)
    );
    assert_eq!(
        trap(call(&inst, "load", &[i(65533)])).kind(),
        Some(TrapKind::MemoryOutOfBounds)
    );
    assert_eq!(
        trap(call(&inst, "load_far", &[i(0)])).kind(),
        Some(TrapKind::MemoryOutOfBounds)
    );
    // Grow step by step well past any initial reservation; data survives
    // (an explicit memory moves).
    let mut pages = 1;
    for step in [1, 3, 10, 50, 100] {
        assert_eq!(call_i32(&inst, "grow", &[i(step)]), pages);
        pages += step;
        assert_eq!(call_i32(&inst, "size", &[]), pages);
        let last = pages * 65536 - 4;
        call(&inst, "store", &[i(last), i(step)]).unwrap();
        assert_eq!(call_i32(&inst, "load", &[i(last)]), step);
        assert_eq!(
            trap(call(&inst, "load", &[i(last + 1)])).kind(),
            Some(TrapKind::MemoryOutOfBounds)
        );
        assert_eq!(call_i32(&inst, "load", &[i(65532)]), 0x1234_5678);
    }
    // Past the maximum: -1 and nothing changes.
    assert_eq!(call_i32(&inst, "grow", &[i(200)]), -1);
    assert_eq!(call_i32(&inst, "size", &[]), pages);
    let mem = inst.get_memory("mem").unwrap();
    assert_eq!(mem.size(), pages as u64);
    assert!(mem.grow(1000).is_err());
    assert_eq!(mem.grow(0).unwrap(), pages as u64);
}

#[test]
fn guarded_memories() {
    exercise(&Engine::default());
}

#[test]
fn explicit_memories() {
    exercise(&Engine::new(Config {
        memory_strategy: MemoryStrategy::Explicit,
        ..Default::default()
    }));
}

#[test]
fn host_memory_api() {
    let m = Memory::new(MemoryType {
        min: 1,
        max: Some(2),
        shared: false,
        memory64: false,
    })
    .unwrap();
    assert_eq!(m.data_size(), 65536);
    m.write(65530, b"abcdef").unwrap();
    assert!(m.write(65531, b"abcdef").is_err());
    let mut b = [0u8; 6];
    assert!(m.read(u64::MAX - 2, &mut b).is_err());
    m.read(65530, &mut b).unwrap();
    assert_eq!(&b, b"abcdef");
    assert_eq!(m.grow(1).unwrap(), 1);
    assert!(m.grow(1).is_err());
    assert_eq!(m.ty().min, 2);
    m.write(131071, b"z").unwrap();
    assert!(
        Memory::new(MemoryType {
            min: 3,
            max: Some(2),
            shared: false,
            memory64: false
        })
        .is_err()
    );
    assert!(
        Memory::new(MemoryType {
            min: 70000,
            max: None,
            shared: false,
            memory64: false
        })
        .is_err()
    );
}

#[test]
fn artifacts_round_trip_and_files_are_told_apart() {
    let engine = Engine::default();
    let m = module(&engine, GROW);
    let bytes = m.serialize();
    let again = Module::from_artifact(&engine, &bytes).unwrap();
    let inst = Linker::new(&engine).instantiate(&again).unwrap();
    assert_eq!(call_i32(&inst, "size", &[]), 1);

    let mut corrupt = bytes.clone();
    let n = corrupt.len();
    corrupt[n - 1] ^= 0xff;
    assert!(matches!(
        Module::from_artifact(&engine, &corrupt),
        Err(Error::Artifact(_))
    ));

    let dir = faasm_testutil::TempDir::new("runtime-from-file");
    let (wasm_path, art_path) = (dir.path("m.wasm"), dir.path("m.faasm"));
    std::fs::write(&wasm_path, wat(GROW)).unwrap();
    std::fs::write(&art_path, &bytes).unwrap();
    for p in [&wasm_path, &art_path] {
        let m = Module::from_file(&engine, p).unwrap();
        let inst = Linker::new(&engine).instantiate(&m).unwrap();
        assert_eq!(call_i32(&inst, "grow", &[Val::I32(1)]), 1);
    }
}

#[test]
fn many_instances_come_and_go() {
    // Each guarded memory reserves > 4 GiB of address space; dropping must
    // release it or this runs out (40k x 4 GiB > the 128 TiB user space).
    let engine = Engine::default();
    let m = module(&engine, GROW);
    for _ in 0..40_000 {
        let inst = Linker::new(&engine).instantiate(&m).unwrap();
        assert_eq!(call_i32(&inst, "size", &[]), 1);
    }
}

#[test]
fn recycled_memories_are_zeroed_and_guarded_again() {
    let engine = Engine::default();
    let m = module(&engine, GROW);
    for round in 0..50 {
        let inst = Linker::new(&engine).instantiate(&m).unwrap();
        let mem = inst.get_memory("mem").unwrap();
        // Fresh: one zeroed page, everything after it faults.
        let mut page = vec![0xffu8; 65536];
        mem.read(0, &mut page).unwrap();
        assert!(page.iter().all(|b| *b == 0), "round {round}: stale data");
        assert_eq!(
            trap(call(&inst, "load", &[Val::I32(65536)])).kind(),
            Some(TrapKind::MemoryOutOfBounds),
            "round {round}: reused memory accessible past its size"
        );
        // Dirty it (more pages than the next user starts with).
        assert_eq!(mem.grow(3).unwrap(), 1);
        for off in (0..4 * 65536).step_by(4096) {
            mem.write(off, &[0xab; 16]).unwrap();
        }
    }
}
