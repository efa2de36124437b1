//! Tail calls reuse the caller's frame: a recursion ten million calls deep
//! through `return_call` / `return_call_indirect` runs in constant native
//! stack. With the default 1 MiB wasm stack limit, ordinary calls overflow
//! after some ten thousand frames (checked here too, so the depth really
//! would overflow without frame reuse).

mod common;
use common::*;
use faasm_runtime::{TrapKind, Val};

const DEPTH: i64 = 10_000_000;

/// `even`/`odd` call each other directly; `ping`/`pong` through a table;
/// `many_*` pass more arguments than fit in registers, so the arguments
/// of the tail call live in the (reused) stack frame; `mixed` alternates a
/// direct tail call with an indirect one to a function of a different
/// signature.
const TAIL: &str = r#"(module
  (type $i64_to_i32 (func (param i64) (result i32)))
  (type $many (func (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (table 4 funcref)
  (elem (i32.const 0) $ping $pong $many_b $mixed_b)

  (func $even (export "even") (param i64) (result i32)
    local.get 0 i64.eqz
    if (result i32) i32.const 1
    else local.get 0 i64.const 1 i64.sub return_call $odd end)
  (func $odd (export "odd") (param i64) (result i32)
    local.get 0 i64.eqz
    if (result i32) i32.const 0
    else local.get 0 i64.const 1 i64.sub return_call $even end)

  (func $ping (export "ping") (param i64) (result i32)
    local.get 0 i64.eqz
    if (result i32) i32.const 1
    else local.get 0 i64.const 1 i64.sub i32.const 1
         return_call_indirect (type $i64_to_i32) end)
  (func $pong (param i64) (result i32)
    local.get 0 i64.eqz
    if (result i32) i32.const 0
    else local.get 0 i64.const 1 i64.sub i32.const 0
         return_call_indirect (type $i64_to_i32) end)

  ;; n, then nine accumulators rotated by one position on every call.
  (func $many_a (export "many") (type $many)
    local.get 0 i64.eqz
    if (result i64)
      local.get 1 local.get 2 i64.add local.get 3 i64.add local.get 4 i64.add
      local.get 5 i64.add local.get 6 i64.add local.get 7 i64.add local.get 8 i64.add
      local.get 9 i64.add
    else
      local.get 0 i64.const 1 i64.sub
      local.get 9 local.get 1 i64.const 1 i64.add local.get 2 local.get 3 local.get 4
      local.get 5 local.get 6 local.get 7 local.get 8
      i32.const 2 return_call_indirect (type $many) end)
  (func $many_b (type $many)
    local.get 0 i64.eqz
    if (result i64) i64.const -1
    else
      local.get 0 i64.const 1 i64.sub
      local.get 1 local.get 2 local.get 3 local.get 4 local.get 5
      local.get 6 local.get 7 local.get 8 local.get 9
      return_call $many_a end)

  ;; A 1-argument function tail-calls a 3-argument one and back: the
  ;; frame is reused across signatures of different sizes.
  (func $mixed_a (export "mixed") (param i64) (result i32)
    local.get 0 i64.eqz
    if (result i32) i32.const 7
    else local.get 0 i64.const 1 i64.sub i32.const 5 f64.const 1.5
         i32.const 3 return_call_indirect (param i64 i32 f64) (result i32) end)
  (func $mixed_b (param i64 i32 f64) (result i32)
    local.get 0 return_call $mixed_a)

  ;; The control: the same recursion with ordinary calls.
  (func $plain (export "plain") (param i64) (result i32)
    local.get 0 i64.eqz
    if (result i32) i32.const 1
    else local.get 0 i64.const 1 i64.sub call $plain end))"#;

#[test]
fn direct_mutual_tail_recursion_runs_in_constant_stack() {
    let inst = instantiate(TAIL);
    assert_eq!(call_i32(&inst, "even", &[Val::I64(DEPTH)]), 1);
    assert_eq!(call_i32(&inst, "odd", &[Val::I64(DEPTH)]), 0);
    assert_eq!(call_i32(&inst, "even", &[Val::I64(DEPTH + 1)]), 0);
}

#[test]
fn indirect_mutual_tail_recursion_runs_in_constant_stack() {
    let inst = instantiate(TAIL);
    assert_eq!(call_i32(&inst, "ping", &[Val::I64(DEPTH)]), 1);
    assert_eq!(call_i32(&inst, "ping", &[Val::I64(DEPTH + 1)]), 0);
}

#[test]
fn tail_calls_with_stack_arguments_keep_them_right() {
    let inst = instantiate(TAIL);
    let args: Vec<Val> = std::iter::once(Val::I64(DEPTH))
        .chain((1..=9).map(|i| Val::I64(i * 1000)))
        .collect();
    // `many_a` adds 1 to one accumulator on each of its DEPTH/2 calls, the
    // rotations preserve the sum, and the base case returns it.
    let r = call(&inst, "many", &args).unwrap();
    assert!(
        matches!(r[..], [Val::I64(v)] if v == 45_000 + DEPTH / 2),
        "{r:?}"
    );
}

#[test]
fn tail_calls_across_signatures_reuse_the_frame() {
    let inst = instantiate(TAIL);
    assert_eq!(call_i32(&inst, "mixed", &[Val::I64(DEPTH)]), 7);
}

#[test]
fn ordinary_calls_at_that_depth_overflow() {
    let inst = instantiate(TAIL);
    let t = trap(call(&inst, "plain", &[Val::I64(DEPTH)]));
    assert_eq!(t.kind(), Some(TrapKind::StackOverflow), "{t}");
    // The instance is still usable after the overflow.
    assert_eq!(call_i32(&inst, "even", &[Val::I64(10)]), 1);
}
