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

// Compiled code does not poll by default: the signal, the host-call
// return check and the re-sends must each be able to stop these.

#[test]
fn a_leaf_loop_without_polls_is_interrupted_by_the_signal() {
    // No call, no host function, no builtin: only the signal reaches it.
    run_export(
        r#"(module (func (export "spin") (param i32) (result i32)
             (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l))
             (local.get 0)))"#,
        "spin",
        vec![Val::I32(0)],
    );
}

#[test]
fn a_loop_that_calls_the_host_is_interrupted() {
    // Most of the time is spent in the host, where the signal is ignored:
    // the dispatcher's check on the way back must stop it.
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "env",
        "work",
        |_: &mut faasm_runtime::Caller<'_>, x: i32| {
            std::thread::sleep(Duration::from_micros(200));
            Ok(x + 1)
        },
    );
    let m = module(
        &engine,
        r#"(module (import "env" "work" (func $work (param i32) (result i32)))
          (func (export "spin") (param i32) (result i32)
            (loop $l (local.set 0 (call $work (local.get 0))) (br $l))
            (local.get 0)))"#,
    );
    let inst = linker.instantiate(&m).unwrap();
    let h = inst.interrupt_handle();
    assert_interrupt(interrupted(h, move || call(&inst, "spin", &[Val::I32(0)])));
}

#[test]
fn a_loop_around_builtins_is_interrupted() {
    // `memory.fill` and `memory.grow` run in the runtime, which returns to
    // the loop without a check: a signal that lands there is ignored and
    // the re-sent ones must find the loop itself.
    run_export(
        r#"(module (memory 1)
          (func (export "spin") (result i32)
            (loop $l
              (memory.fill (i32.const 0) (i32.const 7) (i32.const 4096))
              (drop (memory.grow (i32.const 0)))
              (br $l))
            (i32.const 0)))"#,
        "spin",
        vec![],
    );
}

#[test]
fn an_interrupt_stops_only_its_own_group() {
    // One thread spins in `a`; another counts to a fixed bound in `b`, of
    // another group. Interrupting `a` (and the re-sends that follow) must
    // leave `b`'s result intact, on its thread and on `a`'s thread after.
    let src = r#"(module
      (func (export "spin") (loop br 0))
      (func (export "count") (param i32) (result i32) (local i32)
        (loop $l
          (local.set 1 (i32.add (local.get 1) (i32.const 3)))
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (br_if $l (local.get 0)))
        (local.get 1)))"#;
    let a = instantiate(src);
    let b = instantiate(src);
    let b2 = instantiate(src);
    let counter = std::thread::spawn(move || {
        (0..20)
            .map(|_| call_i32(&b, "count", &[Val::I32(5_000_000)]))
            .collect::<Vec<_>>()
    });
    let h = a.interrupt_handle();
    let r = interrupted(h.clone(), move || {
        let r = call(&a, "spin", &[]);
        // Same thread, right after, another instance: a late re-send of
        // `a`'s interrupt must not stop it.
        (r, call_i32(&b2, "count", &[Val::I32(20_000_000)]))
    });
    assert_interrupt(r.0);
    assert_eq!(r.1, 60_000_000);
    assert!(counter.join().unwrap().iter().all(|&v| v == 15_000_000));
    assert!(h.is_interrupted());
}

#[test]
fn polled_loops_still_stop() {
    let engine = Engine::new(faasm_runtime::Config {
        poll_interrupts: true,
        ..faasm_runtime::Config::default()
    });
    let m = module(&engine, r#"(module (func (export "spin") (loop br 0)))"#);
    let inst = Linker::new(&engine).instantiate(&m).unwrap();
    let h = inst.interrupt_handle();
    assert_interrupt(interrupted(h, move || call(&inst, "spin", &[])));
}
