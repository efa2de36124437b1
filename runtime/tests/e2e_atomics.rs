//! Bad input to the threads proposal's instructions: misaligned atomic
//! accesses trap with `UnalignedAtomic` (a trap, not a signal that kills
//! the host), `memory.atomic.wait*` on an unshared memory traps with
//! `ExpectedSharedMemory`, aligned out-of-bounds atomics trap as bounds
//! errors, and waits time out or see a changed value.

mod common;
use common::*;
use faasm_runtime::{TrapKind, Val};

fn atomics(shared: bool) -> String {
    let memory = if shared {
        "(memory 1 1 shared)"
    } else {
        "(memory 1 1)"
    };
    format!(
        r#"(module
  {memory}
  (func (export "load32") (param i32) (result i32) local.get 0 i32.atomic.load)
  (func (export "load64") (param i32) (result i64) local.get 0 i64.atomic.load)
  (func (export "load16") (param i32) (result i32) local.get 0 i32.atomic.load16_u)
  (func (export "store32") (param i32) local.get 0 i32.const 1 i32.atomic.store)
  (func (export "add32") (param i32) (result i32) local.get 0 i32.const 1 i32.atomic.rmw.add)
  (func (export "xchg64") (param i32) (result i64) local.get 0 i64.const 1 i64.atomic.rmw.xchg)
  (func (export "cmpxchg32") (param i32) (result i32)
    local.get 0 i32.const 0 i32.const 1 i32.atomic.rmw.cmpxchg)
  ;; offset 1 + an aligned address is misaligned too
  (func (export "load32_off") (param i32) (result i32) local.get 0 i32.atomic.load offset=1)
  (func (export "wait32") (param i32 i32 i64) (result i32)
    local.get 0 local.get 1 local.get 2 memory.atomic.wait32)
  (func (export "wait64") (param i32 i64 i64) (result i32)
    local.get 0 local.get 1 local.get 2 memory.atomic.wait64)
  (func (export "notify") (param i32 i32) (result i32)
    local.get 0 local.get 1 memory.atomic.notify))"#
    )
}

#[test]
fn misaligned_atomic_accesses_trap() {
    for shared in [true, false] {
        let inst = instantiate(&atomics(shared));
        let kind = |name: &str, addr: i32| trap(call(&inst, name, &[Val::I32(addr)])).kind();
        for (name, addr) in [
            ("load32", 2),
            ("load64", 4),
            ("load16", 1),
            ("store32", 1),
            ("add32", 3),
            ("xchg64", 12),
            ("cmpxchg32", 6),
            ("load32_off", 0),
        ] {
            assert_eq!(
                kind(name, addr),
                Some(TrapKind::UnalignedAtomic),
                "{name} at {addr} (shared: {shared})"
            );
        }
        // Aligned accesses work, and the memory is intact after the traps.
        assert_eq!(call_i32(&inst, "add32", &[Val::I32(8)]), 0);
        assert_eq!(call_i32(&inst, "load32", &[Val::I32(8)]), 1);
        assert_eq!(call_i32(&inst, "load16", &[Val::I32(2)]), 0);
        let notify = |addr: i32| call(&inst, "notify", &[Val::I32(addr), Val::I32(1)]);
        assert_eq!(
            trap(notify(2)).kind(),
            Some(TrapKind::UnalignedAtomic),
            "notify (shared: {shared})"
        );
        // Nobody waits: no one woken (also on an unshared memory).
        assert!(matches!(notify(0).unwrap()[..], [Val::I32(0)]));
    }
}

#[test]
fn out_of_bounds_atomics_trap_as_bounds_errors() {
    let inst = instantiate(&atomics(true));
    for (name, addr) in [
        ("load32", 65536),
        ("load64", 65536),
        ("add32", 65532 + 4),
        ("store32", -4),
    ] {
        assert_eq!(
            trap(call(&inst, name, &[Val::I32(addr)])).kind(),
            Some(TrapKind::MemoryOutOfBounds),
            "{name} at {addr}"
        );
    }
}

#[test]
fn wait_on_an_unshared_memory_traps() {
    let inst = instantiate(&atomics(false));
    let w32 = call(&inst, "wait32", &[Val::I32(0), Val::I32(0), Val::I64(0)]);
    assert_eq!(trap(w32).kind(), Some(TrapKind::ExpectedSharedMemory));
    let w64 = call(&inst, "wait64", &[Val::I32(0), Val::I64(0), Val::I64(0)]);
    assert_eq!(trap(w64).kind(), Some(TrapKind::ExpectedSharedMemory));
}

#[test]
fn waits_time_out_or_see_a_different_value() {
    let inst = instantiate(&atomics(true));
    let wait32 = |addr: i32, expected: i32, timeout: i64| {
        call_i32(
            &inst,
            "wait32",
            &[Val::I32(addr), Val::I32(expected), Val::I64(timeout)],
        )
    };
    // Value differs: "not-equal" at once, even with an infinite timeout.
    assert_eq!(wait32(0, 1, -1), 1);
    let start = std::time::Instant::now();
    assert_eq!(wait32(0, 0, 20_000_000), 2);
    assert!(start.elapsed() >= std::time::Duration::from_millis(20));
    assert_eq!(
        trap(call(
            &inst,
            "wait32",
            &[Val::I32(1), Val::I32(0), Val::I64(0)]
        ))
        .kind(),
        Some(TrapKind::UnalignedAtomic)
    );
    let wait64 = call(&inst, "wait64", &[Val::I32(8), Val::I64(0), Val::I64(0)]);
    assert!(matches!(wait64.unwrap()[..], [Val::I32(2)]));
}
