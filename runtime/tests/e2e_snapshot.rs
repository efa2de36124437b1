//! End-to-end: snapshots of initialised instances, restored copy-on-write.

mod common;
use common::*;
use faasm_runtime::{
    Config, Engine, Error, InstanceOptions, Linker, Memory, MemoryType, Snapshot, SnapshotParts,
    Val,
};

/// Initialisation writes memory, sets a global, fills a table slot and
/// grows memory; `probe` reads all of it back.
const MODULE: &str = r#"(module
  (memory (export "memory") 1 100)
  (global $g (export "g") (mut i32) (i32.const 0))
  (global $f (mut funcref) (ref.null func))
  (table $t 2 10 funcref)
  (type $r (func (result i32)))
  (data $d "passive")
  (data (i32.const 16) "from a segment")
  (func $seven (type $r) i32.const 7)
  (elem declare func $seven)
  (func (export "grow_and_init")
    (drop (memory.grow (i32.const 2)))
    (i32.store (i32.const 70000) (i32.const 0xabcd))
    (table.set $t (i32.const 1) (ref.func $seven))
    (global.set $f (ref.func $seven))
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (data.drop $d))
  (func (export "pages") (result i32) memory.size)
  (func (export "at") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "put") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "call1") (result i32) (call_indirect $t (type $r) (i32.const 1)))
  (func (export "callf") (result i32)
    (table.set $t (i32.const 0) (global.get $f))
    (call_indirect $t (type $r) (i32.const 0)))
  (func (export "reinit") (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn setup() -> (Engine, Linker, Snapshot) {
    let engine = Engine::default();
    let linker = Linker::new(&engine);
    let m = module(&engine, MODULE);
    let inst = linker.instantiate(&m).unwrap();
    call(&inst, "grow_and_init", &[]).unwrap();
    (engine, linker, Snapshot::capture(&inst).unwrap())
}

fn restore(linker: &Linker, s: &Snapshot) -> faasm_runtime::Instance {
    linker
        .instantiate_snapshot(s, InstanceOptions::default())
        .unwrap()
}

#[test]
fn a_restored_instance_has_the_snapshot_state() {
    let (_e, linker, snap) = setup();
    assert_eq!(snap.memory_pages(), vec![3]);
    let i = restore(&linker, &snap);
    assert_eq!(call_i32(&i, "pages", &[]), 3);
    assert_eq!(call_i32(&i, "at", &[Val::I32(70000)]), 0xabcd);
    let seg = u32::from_le_bytes(*b"from");
    assert_eq!(call_i32(&i, "at", &[Val::I32(16)]), seg as i32);
    let Some(faasm_runtime::Extern::Global(g)) = i.get_export("g") else {
        panic!("no global g")
    };
    assert!(matches!(g.get(), Val::I32(1)));
    assert_eq!(call_i32(&i, "call1", &[]), 7);
    assert_eq!(call_i32(&i, "callf", &[]), 7);
    // The dropped segment stays dropped: initialising from it traps.
    assert!(call(&i, "reinit", &[]).is_err());
}

#[test]
fn restored_instances_do_not_see_each_others_writes() {
    let (_e, linker, snap) = setup();
    let a = restore(&linker, &snap);
    let b = restore(&linker, &snap);
    call(&a, "put", &[Val::I32(70000), Val::I32(42)]).unwrap();
    call(&a, "put", &[Val::I32(100_000), Val::I32(43)]).unwrap();
    assert_eq!(call_i32(&a, "at", &[Val::I32(70000)]), 42);
    assert_eq!(call_i32(&b, "at", &[Val::I32(70000)]), 0xabcd);
    assert_eq!(call_i32(&b, "at", &[Val::I32(100_000)]), 0);
    // A grown instance does not change the snapshot's size.
    assert_eq!(call_i32(&a, "grow", &[Val::I32(5)]), 3);
    drop(a);
    let c = restore(&linker, &snap);
    assert_eq!(call_i32(&c, "pages", &[]), 3);
    assert_eq!(call_i32(&c, "at", &[Val::I32(70000)]), 0xabcd);
    assert_eq!(call_i32(&c, "at", &[Val::I32(100_000)]), 0);
}

#[test]
fn parts_round_trip_and_are_checked_against_the_module() {
    let (engine, linker, snap) = setup();
    let parts = snap.to_parts().unwrap();
    // Only non-zero pages are kept.
    let stored: usize = parts.memories[0].runs.iter().map(|(_, r)| r.len()).sum();
    assert!(stored <= 2 * 4096, "{stored} bytes stored");
    let back = Snapshot::from_parts(snap.module(), parts.clone()).unwrap();
    let i = restore(&linker, &back);
    assert_eq!(call_i32(&i, "at", &[Val::I32(70000)]), 0xabcd);
    assert_eq!(call_i32(&i, "call1", &[]), 7);
    assert_eq!(back.to_parts().unwrap(), parts);

    let mismatched = |f: &dyn Fn(&mut SnapshotParts)| {
        let mut p = parts.clone();
        f(&mut p);
        Snapshot::from_parts(snap.module(), p).unwrap_err()
    };
    assert!(matches!(
        mismatched(&|p| p.memories.clear()),
        Error::Usage(_)
    ));
    assert!(matches!(
        mismatched(&|p| p.memories[0].pages = 101),
        Error::Usage(_)
    ));
    assert!(matches!(
        mismatched(&|p| p.globals.pop().map(drop).unwrap_or(())),
        Error::Usage(_)
    ));
    assert!(matches!(
        mismatched(&|p| p.tables[0] = vec![faasm_runtime::SnapRef::Func(99); 2]),
        Error::Usage(_)
    ));
    assert!(matches!(
        mismatched(&|p| p.memories[0].runs.push((3 << 16, vec![1]))),
        Error::Usage(_)
    ));
    assert!(matches!(
        mismatched(&|p| p.data_dropped.push(true)),
        Error::Usage(_)
    ));

    // Over the engine's memory cap: a resource error, not a restore.
    let capped = Engine::new(Config {
        max_memory_pages: Some(2),
        ..Config::default()
    });
    let m = module(&capped, MODULE);
    assert!(matches!(
        Snapshot::from_parts(&m, parts).unwrap_err(),
        Error::Resource(_)
    ));
    drop(engine);
}

#[test]
fn instances_with_imported_state_are_refused() {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    linker.define(
        "env",
        "m",
        Memory::new(MemoryType {
            min: 1,
            max: None,
            shared: false,
            memory64: false,
        })
        .unwrap(),
    );
    let m = module(&engine, r#"(module (import "env" "m" (memory 1)))"#);
    let i = linker.instantiate(&m).unwrap();
    assert!(matches!(Snapshot::capture(&i), Err(Error::Usage(_))));
}

#[test]
fn a_reset_instance_forgets_everything_since_the_restore() {
    let (_e, linker, snap) = setup();
    let mut i = restore(&linker, &snap);
    for round in 0..3 {
        // A "call" that writes a secret everywhere it can.
        call(&i, "put", &[Val::I32(70000), Val::I32(0x5ec2e7)]).unwrap();
        call(&i, "put", &[Val::I32(100_000), Val::I32(0x5ec2e7)]).unwrap();
        assert_eq!(call_i32(&i, "grow", &[Val::I32(4)]), 3);
        call(&i, "put", &[Val::I32(5 << 16), Val::I32(0x5ec2e7)]).unwrap();
        let Some(faasm_runtime::Extern::Global(g)) = i.get_export("g") else {
            panic!("no global g")
        };
        g.set(Val::I32(99)).unwrap();
        drop(g);
        i.reset(&snap).unwrap();
        // The next "call" sees the snapshot, not the secret.
        assert_eq!(call_i32(&i, "pages", &[]), 3, "round {round}");
        assert_eq!(call_i32(&i, "at", &[Val::I32(70000)]), 0xabcd);
        assert_eq!(call_i32(&i, "at", &[Val::I32(100_000)]), 0);
        assert!(
            call(&i, "at", &[Val::I32(5 << 16)]).is_err(),
            "grown pages are gone"
        );
        let Some(faasm_runtime::Extern::Global(g)) = i.get_export("g") else {
            panic!("no global g")
        };
        assert!(matches!(g.get(), Val::I32(1)));
        drop(g);
        assert_eq!(call_i32(&i, "call1", &[]), 7);
        // Growing again gives zeroed pages.
        assert_eq!(call_i32(&i, "grow", &[Val::I32(4)]), 3);
        assert_eq!(call_i32(&i, "at", &[Val::I32(5 << 16)]), 0);
        i.reset(&snap).unwrap();
    }
}

#[test]
fn reset_needs_the_only_handle_and_the_right_snapshot() {
    let (_e, linker, snap) = setup();
    let mut i = restore(&linker, &snap);
    let export = i.get_func("pages").unwrap();
    assert!(matches!(i.reset(&snap), Err(Error::Usage(_))));
    assert!(matches!(i.set_data(None), Err(Error::Usage(_))));
    drop(export);
    i.reset(&snap).unwrap();
    i.set_data(Some(std::sync::Arc::new(5u32))).unwrap();
    // A fresh instance (not restored) cannot be reset to a snapshot.
    let mut fresh = linker.instantiate(snap.module()).unwrap();
    assert!(matches!(fresh.reset(&snap), Err(Error::Usage(_))));
}

/// A shared file mapped into a restored Faaslet's memory (how state
/// regions are shared) is visible through it and to the host, and a reset
/// drops the mapping: the next call's grown pages are private zeros.
#[test]
fn a_reset_drops_shared_mappings() {
    use rustix::fs::{MemfdFlags, ftruncate, memfd_create};
    let (_e, linker, snap) = setup();
    let mut i = restore(&linker, &snap);
    let fd = memfd_create("test", MemfdFlags::CLOEXEC).unwrap();
    ftruncate(&fd, 65536).unwrap();
    rustix::io::pwrite(&fd, &7u32.to_le_bytes(), 0).unwrap();
    assert_eq!(call_i32(&i, "grow", &[Val::I32(1)]), 3);
    let Some(faasm_runtime::Extern::Memory(m)) = i.get_export("memory") else {
        panic!("no memory")
    };
    m.map_shared(3 << 16, 65536, rustix::fd::AsFd::as_fd(&fd))
        .unwrap();
    // Outside memory or unaligned: refused.
    assert!(
        m.map_shared(4 << 16, 65536, rustix::fd::AsFd::as_fd(&fd))
            .is_err()
    );
    assert!(
        m.map_shared((3 << 16) + 1, 4096, rustix::fd::AsFd::as_fd(&fd))
            .is_err()
    );
    drop(m);
    assert_eq!(call_i32(&i, "at", &[Val::I32(3 << 16)]), 7);
    call(&i, "put", &[Val::I32(3 << 16), Val::I32(0x5ec2e7)]).unwrap();
    let mut back = [0u8; 4];
    rustix::io::pread(&fd, &mut back, 0).unwrap();
    assert_eq!(
        u32::from_le_bytes(back),
        0x5ec2e7,
        "the write reached the file"
    );
    i.reset(&snap).unwrap();
    assert_eq!(call_i32(&i, "grow", &[Val::I32(1)]), 3);
    assert_eq!(
        call_i32(&i, "at", &[Val::I32(3 << 16)]),
        0,
        "private zeros again"
    );
    call(&i, "put", &[Val::I32(3 << 16), Val::I32(1)]).unwrap();
    rustix::io::pread(&fd, &mut back, 0).unwrap();
    assert_eq!(u32::from_le_bytes(back), 0x5ec2e7, "the file is untouched");
}

/// `Config::max_memory_pages` caps the sum over an instance's memories
/// and tables (pages × 64 KiB + elements × 8 bytes), not each one.
const MANY: &str = r#"(module
  (memory $a 1)
  (memory $b 1)
  (memory $c 0)
  (table $t 1000 funcref)
  (table $u 0 funcref)
  (func (export "grow_a") (param i32) (result i32) (memory.grow $a (local.get 0)))
  (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "grow_c") (param i32) (result i32) (memory.grow $c (local.get 0)))
  (func (export "grow_u") (param i32) (result i32)
    (table.grow $u (ref.null func) (local.get 0))))"#;

#[test]
fn the_memory_cap_is_one_budget_per_instance() {
    let engine = Engine::new(Config {
        max_memory_pages: Some(8),
        features: faasm_runtime::Features {
            multi_memory: true,
            ..Default::default()
        },
        ..Config::default()
    });
    let linker = Linker::new(&engine);
    let m = module(&engine, MANY);
    let i = linker.instantiate(&m).unwrap();
    // 2 pages + 8,000 bytes of table used of 8 pages: 5 more pages fit.
    assert_eq!(call_i32(&i, "grow_a", &[Val::I32(3)]), 1);
    assert_eq!(call_i32(&i, "grow_b", &[Val::I32(2)]), 1);
    // Each memory alone is under the cap; together they are at it.
    assert_eq!(call_i32(&i, "grow_c", &[Val::I32(1)]), -1);
    assert_eq!(call_i32(&i, "grow_a", &[Val::I32(1)]), -1);
    // What is left (65,536 - 8,000 bytes) holds 7,192 table elements.
    assert_eq!(call_i32(&i, "grow_u", &[Val::I32(7_193)]), -1);
    assert_eq!(call_i32(&i, "grow_u", &[Val::I32(7_192)]), 0);
    // A second instance has its own budget.
    let j = linker.instantiate(&m).unwrap();
    assert_eq!(call_i32(&j, "grow_c", &[Val::I32(5)]), 0);

    // Restored and reset instances are charged the same way.
    let snap = Snapshot::capture(&j).unwrap();
    let mut r = linker
        .instantiate_snapshot(&snap, InstanceOptions::default())
        .unwrap();
    for _ in 0..3 {
        assert_eq!(call_i32(&r, "grow_a", &[Val::I32(1)]), -1);
        r.reset(&snap).unwrap();
    }
}

/// Writes a secret into every other OS page of `i`'s memory after growing
/// it to 10 pages: dozens of separate dirty runs, inside the snapshot's
/// image and past it.
fn scatter_secrets(i: &faasm_runtime::Instance) {
    assert_eq!(call_i32(i, "grow", &[Val::I32(7)]), 3);
    for page in (0..(10 << 16) / 4096).step_by(2) {
        call(i, "put", &[Val::I32(page * 4096 + 8), Val::I32(0x5ec2e7)]).unwrap();
    }
}

/// What a restore or reset must show: the snapshot, none of the secrets.
fn assert_snapshot_state(i: &faasm_runtime::Instance, what: &str) {
    assert_eq!(call_i32(i, "pages", &[]), 3, "{what}");
    assert_eq!(call_i32(i, "at", &[Val::I32(70000)]), 0xabcd, "{what}");
    let seg = u32::from_le_bytes(*b"from");
    assert_eq!(call_i32(i, "at", &[Val::I32(16)]), seg as i32, "{what}");
    for page in (0..(3 << 16) / 4096).step_by(2) {
        let v = call_i32(i, "at", &[Val::I32(page * 4096 + 8)]);
        assert_eq!(v, 0, "{what}: page {page} kept the secret");
    }
    assert!(
        call(i, "at", &[Val::I32(3 << 16)]).is_err(),
        "{what}: grown pages are gone"
    );
    assert_eq!(call_i32(i, "grow", &[Val::I32(7)]), 3, "{what}");
    for page in ((3 << 16) / 4096..(10 << 16) / 4096).step_by(2) {
        let v = call_i32(i, "at", &[Val::I32(page * 4096 + 8)]);
        assert_eq!(v, 0, "{what}: grown page {page} is not zero");
    }
}

/// A reset after writes scattered over many runs of pages (more than the
/// kernel reports in one scan) forgets all of them.
#[test]
fn a_reset_forgets_writes_scattered_over_many_pages() {
    let (_e, linker, snap) = setup();
    let mut i = restore(&linker, &snap);
    for round in 0..3 {
        scatter_secrets(&i);
        i.reset(&snap).unwrap();
        assert_snapshot_state(&i, &format!("reset, round {round}"));
        i.reset(&snap).unwrap();
    }
}

/// A dropped Faaslet's memory is kept with the snapshot's image mapped
/// for the next restore: that restore sees the snapshot, not what the
/// dropped one wrote, grew or had mapped shared.
#[test]
fn a_restore_after_a_drop_sees_nothing_of_the_dropped_faaslet() {
    use rustix::fs::{MemfdFlags, ftruncate, memfd_create};
    let (_e, linker, snap) = setup();
    for round in 0..4 {
        // Two at once, so more than one memory is given back.
        let a = restore(&linker, &snap);
        let b = restore(&linker, &snap);
        scatter_secrets(&a);
        scatter_secrets(&b);
        if round % 2 == 1 {
            // A shared file mapped into the grown part.
            let fd = memfd_create("test", MemfdFlags::CLOEXEC).unwrap();
            ftruncate(&fd, 65536).unwrap();
            let Some(faasm_runtime::Extern::Memory(m)) = b.get_export("memory") else {
                panic!("no memory")
            };
            m.map_shared(4 << 16, 65536, rustix::fd::AsFd::as_fd(&fd))
                .unwrap();
            drop(m);
            call(&b, "put", &[Val::I32(4 << 16), Val::I32(0x5ec2e7)]).unwrap();
        }
        drop(a);
        drop(b);
        let c = restore(&linker, &snap);
        let d = restore(&linker, &snap);
        assert_snapshot_state(&c, &format!("restore after drop, round {round}"));
        assert_snapshot_state(&d, &format!("second restore after drop, round {round}"));
    }
}
