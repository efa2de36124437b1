//! End-to-end: every way guest code can run forever ends when it is
//! interrupted — loops, recursion without loops, self tail calls, start
//! functions and `memory.atomic.wait` with an infinite timeout.
//!
//! Each case runs on its own thread and is interrupted after 100 ms; the
//! test fails (instead of hanging) if the trap has not arrived 20 s later.

mod common;
use common::*;
use faasm_runtime::{
    Engine, Error, InstanceOptions, InterruptHandle, Linker, Memory, MemoryType, TrapKind,
    TrapReason, Val,
};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `body` on a thread, interrupts `handle` after 100 ms, and returns
/// what `body` returned, or panics if it did not return in time.
fn interrupted<T: Send + 'static>(
    handle: InterruptHandle,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    std::thread::sleep(Duration::from_millis(100));
    handle.interrupt();
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the guest did not stop after an interrupt")
}

fn assert_interrupt(r: Result<Vec<Val>, Error>) {
    let t = trap(r);
    assert!(
        matches!(t.reason, TrapReason::Wasm(TrapKind::Interrupt)),
        "expected an interrupt, got {t}"
    );
}

fn run_export(src: &str, name: &'static str, args: Vec<Val>) {
    let inst = instantiate(src);
    let h = inst.interrupt_handle();
    let r = interrupted(h.clone(), move || call(&inst, name, &args));
    assert_interrupt(r);
}

#[test]
fn recursion_without_loops_is_interrupted() {
    // A binary call tree of depth 60: constant stack, 2^60 calls.
    run_export(
        r#"(module
          (func $tree (export "tree") (param i32) (result i32)
            local.get 0 i32.eqz
            if (result i32) i32.const 1
            else
              local.get 0 i32.const 1 i32.sub call $tree
              local.get 0 i32.const 1 i32.sub call $tree
              i32.add
            end))"#,
        "tree",
        vec![Val::I32(60)],
    );
}

#[test]
fn self_tail_call_is_interrupted() {
    run_export(
        r#"(module (func $f (export "f") (param i64) (result i64)
             local.get 0 i64.const 1 i64.add return_call $f))"#,
        "f",
        vec![Val::I64(0)],
    );
}

#[test]
fn mutual_indirect_tail_calls_are_interrupted() {
    run_export(
        r#"(module
          (type $t (func (param i32) (result i32)))
          (table 2 funcref) (elem (i32.const 0) $a $b)
          (func $a (export "a") (type $t)
            local.get 0 i32.const 1 i32.add i32.const 1 return_call_indirect (type $t))
          (func $b (type $t)
            local.get 0 i32.const 1 i32.sub i32.const 0 return_call_indirect (type $t)))"#,
        "a",
        vec![Val::I32(0)],
    );
}

#[test]
fn infinite_atomic_wait_is_interrupted() {
    run_export(
        r#"(module (memory 1 1 shared)
          (func (export "wait") (result i32)
            i32.const 0 i32.const 0 i64.const -1 memory.atomic.wait32))"#,
        "wait",
        vec![],
    );
}

#[test]
fn a_start_function_is_interrupted_through_a_handle_made_first() {
    let engine = Engine::default();
    let m = module(
        &engine,
        r#"(module (func $spin (loop br 0)) (start $spin) (func (export "ok")))"#,
    );
    let handle = InterruptHandle::new();
    let opts = InstanceOptions {
        interrupt: Some(handle.clone()),
        ..InstanceOptions::default()
    };
    let r = interrupted(handle.clone(), move || {
        Linker::new(&engine).instantiate_opts(&m, opts).map(|_| ())
    });
    match r {
        Err(Error::Trap(t)) => {
            assert!(matches!(t.reason, TrapReason::Wasm(TrapKind::Interrupt)))
        }
        other => panic!("expected an interrupted start function, got {other:?}"),
    }
}

#[test]
fn an_instance_joining_a_fired_group_starts_interrupted() {
    let engine = Engine::default();
    let m = module(&engine, r#"(module (func (export "spin") (loop br 0)))"#);
    let handle = InterruptHandle::new();
    handle.interrupt();
    let inst = Linker::new(&engine)
        .instantiate_opts(
            &m,
            InstanceOptions {
                interrupt: Some(handle.clone()),
                ..InstanceOptions::default()
            },
        )
        .unwrap();
    assert!(inst.interrupt_handle().same(&handle));
    assert_interrupt(call(&inst, "spin", &[]));
    handle.clear();
    assert!(!handle.is_interrupted());
}

#[test]
fn a_wait_that_is_notified_is_not_an_interrupt() {
    let engine = Engine::default();
    let memory = Memory::new(MemoryType {
        min: 1,
        max: Some(1),
        shared: true,
        memory64: false,
    })
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("env", "m", memory);
    let m = module(
        &engine,
        r#"(module (import "env" "m" (memory 1 1 shared))
          (func (export "wait") (result i32)
            i32.const 0 i32.const 0 i64.const 5000000000 memory.atomic.wait32)
          (func (export "wake") (result i32)
            i32.const 0 i32.const 1 memory.atomic.notify))"#,
    );
    let waiter = linker.instantiate(&m).unwrap();
    let waker = linker.instantiate(&m).unwrap();
    let t = std::thread::spawn(move || call_i32(&waiter, "wait", &[]));
    // Notify until the waiter is there to be woken; interrupting another
    // group on the way must not disturb it.
    InterruptHandle::new().interrupt();
    while call_i32(&waker, "wake", &[]) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(t.join().unwrap(), 0, "woken, not timed out or interrupted");
}
