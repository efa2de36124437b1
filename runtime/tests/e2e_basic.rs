//! End-to-end: WebAssembly compiled by faasmc, run by the runtime.

mod common;
use common::*;
use faasm_runtime::{TrapKind, Val};

#[test]
fn arithmetic_and_calls() {
    let inst = instantiate(
        r#"(module
          (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
          (func (export "fac") (param i64) (result i64)
            local.get 0 i64.eqz
            if (result i64) i64.const 1
            else local.get 0 local.get 0 i64.const 1 i64.sub call 1 i64.mul end)
          (func (export "twice") (param i32) (result i32) local.get 0 local.get 0 call $add))"#,
    );
    assert_eq!(call_i32(&inst, "add", &[Val::I32(2), Val::I32(40)]), 42);
    assert_eq!(call_i32(&inst, "twice", &[Val::I32(21)]), 42);
    let r = call(&inst, "fac", &[Val::I64(20)]).unwrap();
    assert!(matches!(r[..], [Val::I64(2432902008176640000)]));
}

#[test]
fn traps_of_each_kind() {
    let inst = instantiate(
        r#"(module
          (memory 1)
          (table 2 funcref)
          (type $t (func (result i32)))
          (func $f (result i32) i32.const 1)
          (elem (i32.const 0) $f)
          (func (export "unreachable") unreachable)
          (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
          (func (export "rem") (param i32 i32) (result i32) local.get 0 local.get 1 i32.rem_u)
          (func (export "trunc") (param f32) (result i32) local.get 0 i32.trunc_f32_s)
          (func (export "load") (param i32) (result i32) local.get 0 i32.load)
          (func (export "store") (param i32) local.get 0 i32.const 7 i32.store offset=100000)
          (func (export "indirect") (param i32) (result i32) local.get 0 call_indirect (type $t))
          (func (export "bad_sig") (param i32) i32.const 5 local.get 0 call_indirect (param i32))
          (func (export "fill") (param i32 i32) local.get 0 i32.const 0 local.get 1 memory.fill)
        )"#,
    );
    let kind = |name: &str, args: &[Val]| trap(call(&inst, name, args)).kind().unwrap();
    assert_eq!(kind("unreachable", &[]), TrapKind::Unreachable);
    assert_eq!(
        kind("div", &[Val::I32(1), Val::I32(0)]),
        TrapKind::IntegerDivisionByZero
    );
    assert_eq!(
        kind("div", &[Val::I32(i32::MIN), Val::I32(-1)]),
        TrapKind::IntegerOverflow
    );
    assert_eq!(
        kind("rem", &[Val::I32(1), Val::I32(0)]),
        TrapKind::IntegerDivisionByZero
    );
    assert_eq!(
        kind("trunc", &[Val::F32(f32::NAN.to_bits())]),
        TrapKind::BadConversionToInteger
    );
    assert_eq!(
        kind("trunc", &[Val::F32(3e9f32.to_bits())]),
        TrapKind::IntegerOverflow
    );
    assert_eq!(
        kind("load", &[Val::I32(65533)]),
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(kind("load", &[Val::I32(-1)]), TrapKind::MemoryOutOfBounds);
    assert_eq!(
        kind("store", &[Val::I32(65536 - 100000 + 65536)]),
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(
        kind("indirect", &[Val::I32(1)]),
        TrapKind::UninitializedElement
    );
    assert_eq!(kind("indirect", &[Val::I32(2)]), TrapKind::UndefinedElement);
    assert_eq!(kind("bad_sig", &[Val::I32(0)]), TrapKind::BadSignature);
    assert_eq!(
        kind("fill", &[Val::I32(65000), Val::I32(1000)]),
        TrapKind::MemoryOutOfBounds
    );
    // Still healthy after all that.
    assert_eq!(call_i32(&inst, "indirect", &[Val::I32(0)]), 1);
    assert_eq!(call_i32(&inst, "div", &[Val::I32(84), Val::I32(2)]), 42);
    assert_eq!(call_i32(&inst, "load", &[Val::I32(65532)]), 0);
}
