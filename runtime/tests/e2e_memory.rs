//! End-to-end: linear memories under both SFI strategies, and loading
//! modules from artifacts and files.

mod common;
use common::*;
use faasm_runtime::{
    Config, Engine, Error, InstanceOptions, Linker, Memory, MemoryStrategy, MemoryType, Module,
    Snapshot, TrapKind, Val,
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

/// Wrapping address sums next to an address accessed just before: the
/// compiler computes them in 64 bits from the earlier address (the
/// runtime keeps memories below 4 GiB so they cannot wrap); results and
/// traps must be exactly the wrapping ones.
const NEAR: &str = r#"(module
  (memory (export "mem") 1)
  ;; x+8 (itself maybe wrapped), then x+12
  (func (export "after") (param $x i32) (result i32)
    (i32.add (i32.load (i32.add (local.get $x) (i32.const 8)))
             (i32.load (i32.add (local.get $x) (i32.const 12)))))
  ;; x, then x+8 with a static offset on top
  (func (export "up") (param $x i32) (result i32)
    (i32.add (i32.load (local.get $x))
             (i32.load offset=4 (i32.add (local.get $x) (i32.const 8)))))
  ;; x+8, then x: 8 below a known address, which may wrap
  (func (export "down") (param $x i32) (result i32)
    (i32.add (i32.load (i32.add (local.get $x) (i32.const 8)))
             (i32.load offset=4 (local.get $x))))
  ;; x only on one path, then x+8: x is not known on the other
  (func (export "branch") (param $x i32) (param $c i32) (result i32)
    (if (local.get $c) (then (drop (i32.load (local.get $x)))))
    (i32.load (i32.add (local.get $x) (i32.const 8))))
  ;; x on the then-arm, x+8 on the else-arm
  (func (export "arms") (param $x i32) (param $c i32) (result i32)
    (if (result i32) (local.get $c)
      (then (i32.load (local.get $x)))
      (else (i32.load (i32.add (local.get $x) (i32.const 8))))))
  ;; x in a block a branch may leave first, then x+8 after it
  (func (export "skip") (param $x i32) (param $c i32) (result i32)
    (block (br_if 0 (local.get $c)) (drop (i32.load (local.get $x))))
    (i32.load (i32.add (local.get $x) (i32.const 8))))
  ;; the same with the branch out of the block nested in an if
  ;; (after an access to another address, whose fact ends with the if)
  (func (export "nested_skip") (param $x i32) (param $c i32) (result i32)
    (block
      (if (local.get $c) (then (drop (i32.load (i32.const 0))) (br 1)))
      (drop (i32.load (local.get $x))))
    (i32.load (i32.add (local.get $x) (i32.const 8))))
  ;; x in a block before its branch, then x+8 after it: x dominates
  (func (export "before_branch") (param $x i32) (param $c i32) (result i32)
    (block (drop (i32.load (local.get $x))) (br_if 0 (local.get $c)))
    (i32.load (i32.add (local.get $x) (i32.const 8))))
  ;; x before a loop, x+8 in it: the access before dominates
  (func (export "loop") (param $x i32) (param $n i32) (result i32)
    (local $sum i32)
    (local.set $sum (i32.load (local.get $x)))
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (i32.load (i32.add (local.get $x) (i32.const 8)))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
  ;; x+0x10000, then x+0x20000: as far apart as the fold allows
  (func (export "far") (param $x i32) (result i32)
    (i32.add (i32.load (i32.add (local.get $x) (i32.const 0x10000)))
             (i32.load (i32.add (local.get $x) (i32.const 0x20000)))))
  ;; x+8, then x+4 at static offset 0: 4 below a known address
  (func (export "below") (param $x i32) (result i32)
    (i32.add (i32.load (i32.add (local.get $x) (i32.const 8)))
             (i32.load (i32.add (local.get $x) (i32.const 4)))))
  ;; x-4 with no access before it
  (func (export "minus") (param $x i32) (result i32)
    (i32.load (i32.add (local.get $x) (i32.const -4))))
  ;; x-4 at static offset 8: x = 0 wraps past the end, not to 4
  (func (export "minus_offset") (param $x i32) (result i32)
    (i32.load offset=8 (i32.add (local.get $x) (i32.const -4))))
  ;; x-0x10000, as far below as the fold allows, and one further
  (func (export "minus_far") (param $x i32) (result i32)
    (i32.load (i32.add (local.get $x) (i32.const -0x10000))))
  (func (export "minus_further") (param $x i32) (result i32)
    (i32.load (i32.add (local.get $x) (i32.const -0x10001))))
  ;; x+0x10000, then x: as far below a known address as the fold allows
  (func (export "down_far") (param $x i32) (result i32)
    (i32.add (i32.load (i32.add (local.get $x) (i32.const 0x10000)))
             (i32.load (local.get $x))))
  ;; x-4, then x+8: 12 above the first
  (func (export "below_then_above") (param $x i32) (result i32)
    (i32.add (i32.load (i32.add (local.get $x) (i32.const -4)))
             (i32.load (i32.add (local.get $x) (i32.const 8))))))"#;

fn near_accesses(engine: &Engine) {
    let m = module(engine, NEAR);
    // Fresh reservations, and reused ones from the pool.
    for _ in 0..3 {
        near_accesses_in(&Linker::new(engine).instantiate(&m).unwrap());
    }
    // Restored from a snapshot, twice (the second may reuse the first's
    // reservation with the image still mapped).
    let first = Linker::new(engine).instantiate(&m).unwrap();
    near_accesses_in(&first);
    let snap = Snapshot::capture(&first).unwrap();
    for _ in 0..2 {
        let inst = Linker::new(engine)
            .instantiate_snapshot(&snap, InstanceOptions::default())
            .unwrap();
        near_accesses_in(&inst);
    }
}

fn near_accesses_in(inst: &faasm_runtime::Instance) {
    let mem = inst.get_memory("mem").unwrap();
    for i in 0..16384u32 {
        mem.write(u64::from(i) * 4, &(i + 1).to_le_bytes()).unwrap();
    }
    let word = |addr: u32| (addr / 4 + 1) as i32;
    let i = |v: i32| Val::I32(v);
    let oob = |r| trap(r).kind() == Some(TrapKind::MemoryOutOfBounds);
    // x + 8 wraps to 4, x + 12 to 8.
    assert_eq!(call_i32(inst, "after", &[i(-4)]), word(4) + word(8));
    assert_eq!(call_i32(inst, "after", &[i(-8)]), word(0) + word(4));
    assert_eq!(call_i32(inst, "after", &[i(100)]), word(108) + word(112));
    assert_eq!(
        call_i32(inst, "after", &[i(65520)]),
        word(65528) + word(65532)
    );
    assert!(oob(call(inst, "after", &[i(65524)])));
    assert_eq!(call_i32(inst, "up", &[i(65520)]), word(65520) + word(65532));
    assert!(oob(call(inst, "up", &[i(65524)])));
    assert!(oob(call(inst, "up", &[i(-4)])));
    // x + 8 is in bounds but x wrapped below zero: x + 4 must trap.
    assert!(oob(call(inst, "down", &[i(-8)])));
    assert!(oob(call(inst, "down", &[i(-4)])));
    assert_eq!(call_i32(inst, "down", &[i(0)]), word(8) + word(4));
    assert!(oob(call(inst, "far", &[i(0)])));
    assert_eq!(call_i32(inst, "branch", &[i(-4), i(0)]), word(4));
    assert!(oob(call(inst, "branch", &[i(-4), i(1)])));
    assert_eq!(call_i32(inst, "arms", &[i(-4), i(0)]), word(4));
    assert!(oob(call(inst, "arms", &[i(-4), i(1)])));
    assert_eq!(call_i32(inst, "skip", &[i(-4), i(1)]), word(4));
    assert!(oob(call(inst, "skip", &[i(-4), i(0)])));
    assert_eq!(call_i32(inst, "nested_skip", &[i(-4), i(1)]), word(4));
    assert!(oob(call(inst, "nested_skip", &[i(-4), i(0)])));
    for c in [0, 1] {
        assert_eq!(call_i32(inst, "before_branch", &[i(16), i(c)]), word(24));
        assert!(oob(call(inst, "before_branch", &[i(65528), i(c)])));
        assert!(oob(call(inst, "before_branch", &[i(-4), i(c)])));
    }
    assert_eq!(
        call_i32(inst, "loop", &[i(40), i(3)]),
        word(40) + 3 * word(48)
    );
    assert!(oob(call(inst, "loop", &[i(65528), i(3)])));
    assert!(oob(call(inst, "loop", &[i(-4), i(3)])));
    // x + 0x10000 is 0; x + 0x20000 is 0x10000, one past the end.
    assert!(oob(call(inst, "far", &[i(-0x10000)])));
    // Below a known address, or below x itself (static offset 0): a sum
    // that wraps below zero traps, one that does not reads what it should.
    assert_eq!(call_i32(inst, "below", &[i(0)]), word(8) + word(4));
    assert!(oob(call(inst, "below", &[i(-8)])));
    assert!(oob(call(inst, "below", &[i(-5)])));
    assert_eq!(call_i32(inst, "below", &[i(-4)]), word(4) + word(0));
    for x in 0..4 {
        assert!(oob(call(inst, "minus", &[i(x)])), "minus {x}");
    }
    assert_eq!(call_i32(inst, "minus", &[i(4)]), word(0));
    assert_eq!(call_i32(inst, "minus", &[i(65536)]), word(65532));
    assert!(oob(call(inst, "minus", &[i(65537)])));
    assert!(oob(call(inst, "minus_offset", &[i(0)])));
    assert_eq!(call_i32(inst, "minus_offset", &[i(4)]), word(8));
    assert!(oob(call(inst, "minus_far", &[i(0)])));
    assert!(oob(call(inst, "minus_far", &[i(0xffff)])));
    assert_eq!(call_i32(inst, "minus_far", &[i(0x10000)]), word(0));
    assert!(oob(call(inst, "minus_further", &[i(0x10000)])));
    assert_eq!(call_i32(inst, "minus_further", &[i(0x10005)]), word(4));
    assert!(oob(call(inst, "down_far", &[i(-0x10000)])));
    // x + 0x10000 is in bounds only if x is not: x is a known address
    // 0x10000 below and must trap (the native sum lands 0x10000 and 0xfff0
    // below the base).
    assert!(oob(call(inst, "down_far", &[i(-0xfff0)])));
    assert!(oob(call(inst, "below_then_above", &[i(0)])));
    assert_eq!(
        call_i32(inst, "below_then_above", &[i(4)]),
        word(0) + word(12)
    );
    assert!(oob(call(inst, "below_then_above", &[i(65528)])));
}

#[test]
fn near_accesses_wrap_exactly() {
    near_accesses(&Engine::default());
    near_accesses(&Engine::new(Config {
        memory_strategy: MemoryStrategy::Explicit,
        ..Default::default()
    }));
}

/// One page short of 4 GiB: compiled code relies on it (see
/// `faasm_abi::MAX_MEMORY32_PAGES`).
#[test]
fn memories_stop_one_page_short_of_4_gib() {
    let engine = Engine::default();
    let inst = Linker::new(&engine)
        .instantiate(&module(
            &engine,
            r#"(module (memory 1 65536)
                 (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
        ))
        .unwrap();
    assert_eq!(call_i32(&inst, "grow", &[Val::I32(65535)]), -1);
    let err = Linker::new(&engine)
        .instantiate(&module(&engine, "(module (memory 65536))"))
        .expect_err("a 4 GiB memory is refused");
    assert!(err.to_string().contains("65535"), "{err}");
    assert!(
        Memory::new(MemoryType {
            min: 65536,
            max: None,
            shared: false,
            memory64: false
        })
        .is_err()
    );
}
