//! End-to-end: linking instances together, host-created entities,
//! reference values crossing the boundary, instantiation semantics and
//! lifetimes.

mod common;
use common::*;
use faasm_runtime::{
    Engine, Error, Extern, Func, FuncType, Global, GlobalType, LinkError, Linker, Memory,
    MemoryStrategy, MemoryType, Table, TableType, TrapKind, Val, ValType,
};
use std::sync::Arc;

fn mem_ty(min: u64, max: Option<u64>) -> MemoryType {
    MemoryType {
        min,
        max,
        shared: false,
        memory64: false,
    }
}

#[test]
fn instances_import_each_others_functions_memories_tables_and_globals() {
    let engine = Engine::default();
    let a = Linker::new(&engine)
        .instantiate(&module(
            &engine,
            r#"(module
              (memory (export "mem") 1 4)
              (table (export "tab") 4 funcref)
              (global (export "g") (mut i32) (i32.const 10))
              (func $seven (export "seven") (result i32) i32.const 7)
              (elem (i32.const 0) $seven)
              (func (export "load") (param i32) (result i32) local.get 0 i32.load))"#,
        ))
        .unwrap();
    let mut linker = Linker::new(&engine);
    linker.instance("a", &a);
    let b = linker
        .instantiate(&module(
            &engine,
            r#"(module
              (import "a" "mem" (memory 1))
              (import "a" "tab" (table 1 funcref))
              (import "a" "g" (global $g (mut i32)))
              (import "a" "seven" (func $seven (result i32)))
              (func $eight (result i32) i32.const 8)
              (elem (i32.const 1) $eight)
              (data (i32.const 8) "\2a")
              (func (export "run") (result i32)
                call $seven
                i32.const 1 call_indirect (result i32) i32.add
                global.get $g i32.add
                i32.const 0 call_indirect (result i32) i32.add)
              (func (export "bump") global.get $g i32.const 1 i32.add global.set $g)
              (func (export "grow") (result i32) i32.const 1 memory.grow))"#,
        ))
        .unwrap();
    assert_eq!(call_i32(&b, "run", &[]), 7 + 8 + 10 + 7);
    call(&b, "bump", &[]).unwrap();
    let g = a.get_export("g").unwrap();
    let Extern::Global(g) = g else { panic!() };
    assert!(matches!(g.get(), Val::I32(11)));
    // b's data segment landed in a's memory; b grows it, a sees the size.
    assert_eq!(call_i32(&a, "load", &[Val::I32(8)]), 42);
    assert_eq!(call_i32(&b, "grow", &[]), 1);
    assert_eq!(a.get_memory("mem").unwrap().size(), 2);
    // b's function, stored in a's table, stays callable after b is gone.
    drop(b);
    drop(linker);
    let Some(Extern::Table(t)) = a.get_export("tab") else {
        panic!()
    };
    let Some(Val::FuncRef(Some(f))) = t.get(1) else {
        panic!("expected b's function")
    };
    assert!(matches!(f.call(&[]).unwrap()[..], [Val::I32(8)]));
}

#[test]
fn imports_are_type_checked() {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    linker.define(
        "env",
        "f",
        Func::new(FuncType::new([ValType::I32], []), |_, _, _| Ok(())),
    );
    linker.define("env", "m", Memory::new(mem_ty(1, Some(2))).unwrap());
    linker.define(
        "env",
        "t",
        Table::new(
            TableType {
                elem: ValType::FuncRef,
                min: 2,
                max: None,
            },
            Val::FuncRef(None),
        )
        .unwrap(),
    );
    linker.define(
        "env",
        "g",
        Global::new(
            GlobalType {
                ty: ValType::I64,
                mutable: false,
            },
            Val::I64(1),
        )
        .unwrap(),
    );
    let check = |src: &str| linker.instantiate(&module(&engine, src));
    assert!(
        check(
            r#"(module (import "env" "f" (func (param i32))) (import "env" "m" (memory 1 2))
        (import "env" "t" (table 1 funcref)) (import "env" "g" (global i64)))"#
        )
        .is_ok()
    );
    for bad in [
        r#"(module (import "env" "f" (func (param i64))))"#,
        r#"(module (import "env" "f" (memory 1)))"#,
        r#"(module (import "env" "m" (memory 2)))"#,
        r#"(module (import "env" "m" (memory 1 1)))"#,
        r#"(module (import "env" "t" (table 3 funcref)))"#,
        r#"(module (import "env" "t" (table 1 externref)))"#,
        r#"(module (import "env" "t" (table 1 5 funcref)))"#,
        r#"(module (import "env" "g" (global (mut i64))))"#,
        r#"(module (import "env" "g" (global i32)))"#,
    ] {
        match check(bad) {
            Err(Error::Link(LinkError::Incompatible { .. })) => {}
            other => panic!("{bad}: expected incompatible import, got {other:?}"),
        }
    }
    match check(r#"(module (import "env" "nope" (func)))"#) {
        Err(Error::Link(LinkError::Missing { .. })) => {}
        other => panic!("expected missing import, got {other:?}"),
    }
}

#[test]
fn guarded_code_cannot_import_an_explicit_memory() {
    let engine = Engine::default();
    let explicit = Memory::with_strategy(mem_ty(1, None), MemoryStrategy::Explicit).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("env", "m", explicit.clone());
    let src = r#"(module (import "env" "m" (memory 1)) (func (export "load") (param i32) (result i32) local.get 0 i32.load))"#;
    assert!(matches!(
        linker.instantiate(&module(&engine, src)),
        Err(Error::Link(LinkError::Incompatible { .. }))
    ));
    // Code with explicit checks works with either.
    let engine = Engine::new(faasm_runtime::Config {
        memory_strategy: MemoryStrategy::Explicit,
        ..Default::default()
    });
    let mut linker = Linker::new(&engine);
    linker.define("env", "m", explicit.clone());
    let inst = linker.instantiate(&module(&engine, src)).unwrap();
    explicit.write(100, &5i32.to_le_bytes()).unwrap();
    assert_eq!(call_i32(&inst, "load", &[Val::I32(100)]), 5);
    let mut linker = Linker::new(&engine);
    linker.define("env", "m", Memory::new(mem_ty(1, None)).unwrap());
    assert!(linker.instantiate(&module(&engine, src)).is_ok());
}

#[test]
fn failed_segment_keeps_earlier_writes() {
    let engine = Engine::default();
    let mem = Memory::new(mem_ty(1, None)).unwrap();
    let tab = Table::new(
        TableType {
            elem: ValType::FuncRef,
            min: 3,
            max: None,
        },
        Val::FuncRef(None),
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("env", "m", mem.clone());
    linker.define("env", "t", tab.clone());
    let r = linker.instantiate(&module(
        &engine,
        r#"(module (import "env" "m" (memory 1)) (import "env" "t" (table 3 funcref))
          (func $f (result i32) i32.const 99)
          (elem (i32.const 0) $f)
          (data (i32.const 0) "ok")
          (data (i32.const 65535) "xx"))"#,
    ));
    match r {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), Some(TrapKind::MemoryOutOfBounds)),
        other => panic!("expected an instantiation trap, got {other:?}"),
    }
    let mut b = [0u8; 2];
    mem.read(0, &mut b).unwrap();
    assert_eq!(&b, b"ok");
    // The failed instance's function is still in the table and callable.
    let Some(Val::FuncRef(Some(f))) = tab.get(0) else {
        panic!()
    };
    assert!(matches!(f.call(&[]).unwrap()[..], [Val::I32(99)]));

    let r = linker.instantiate(&module(
        &engine,
        r#"(module (import "env" "t" (table 3 funcref)) (func $f) (elem (i32.const 2) $f $f))"#,
    ));
    assert!(matches!(r, Err(Error::Trap(ref t)) if t.kind() == Some(TrapKind::TableOutOfBounds)));
}

#[test]
fn host_functions_as_values_and_externrefs_in_tables() {
    let engine = Engine::default();
    let inst = Linker::new(&engine)
        .instantiate(&module(
            &engine,
            r#"(module
              (table (export "funcs") 2 funcref)
              (table (export "refs") 2 externref)
              (global (export "fg") (mut funcref) (ref.null func))
              (func (export "call") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (param i32) (result i32))
              (func (export "call_global") (param i32) (result i32)
                local.get 0 i32.const 0 global.get 0 table.set 0 i32.const 0 call_indirect (param i32) (result i32))
              (func (export "get_ref") (param i32) (result externref) local.get 0 table.get 1))"#,
        ))
        .unwrap();
    let double = Func::new(FuncType::new([ValType::I32], [ValType::I32]), |_, a, r| {
        let Val::I32(v) = a[0] else { unreachable!() };
        r[0] = Val::I32(v * 2);
        Ok(())
    });
    let Some(Extern::Table(funcs)) = inst.get_export("funcs") else {
        panic!()
    };
    funcs.set(1, Val::FuncRef(Some(double.clone()))).unwrap();
    assert_eq!(call_i32(&inst, "call", &[Val::I32(1), Val::I32(21)]), 42);
    let Some(Val::FuncRef(Some(back))) = funcs.get(1) else {
        panic!()
    };
    assert!(back.same(&double));
    // Wrong element type is a usage error, not a crash.
    assert!(matches!(
        funcs.set(0, Val::ExternRef(None)),
        Err(Error::Usage(_))
    ));
    // A funcref global set from the host, used by wasm.
    let Some(Extern::Global(fg)) = inst.get_export("fg") else {
        panic!()
    };
    fg.set(Val::FuncRef(Some(double))).unwrap();
    assert_eq!(call_i32(&inst, "call_global", &[Val::I32(5)]), 10);
    let Some(Extern::Table(refs)) = inst.get_export("refs") else {
        panic!()
    };
    refs.set(1, Val::ExternRef(Some(faasm_runtime::ExternRef(1234))))
        .unwrap();
    let r = call(&inst, "get_ref", &[Val::I32(1)]).unwrap();
    assert!(matches!(
        r[..],
        [Val::ExternRef(Some(faasm_runtime::ExternRef(1234)))]
    ));
    assert_eq!(refs.grow(3, Val::ExternRef(None)).unwrap(), 2);
    assert_eq!(refs.size(), 5);
}

#[test]
fn bulk_memory_and_table_operations() {
    let inst = instantiate(
        r#"(module
          (memory (export "mem") 1)
          (table 4 funcref)
          (func $a (result i32) i32.const 1)
          (func $b (result i32) i32.const 2)
          (data $d "hello")
          (elem $e func $a $b)
          (func (export "init") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.init $d)
          (func (export "drop") data.drop $d)
          (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
          (func (export "tinit") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 table.init $e)
          (func (export "edrop") elem.drop $e)
          (func (export "tcopy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 table.copy)
          (func (export "tgrow") (param i32) (result i32) ref.null func local.get 0 table.grow)
          (func (export "tcall") (param i32) (result i32) local.get 0 call_indirect (result i32)))"#,
    );
    let mem = inst.get_memory("mem").unwrap();
    let i = |v: i32| Val::I32(v);
    call(&inst, "init", &[i(10), i(0), i(5)]).unwrap();
    call(&inst, "copy", &[i(12), i(10), i(5)]).unwrap(); // overlapping
    let mut b = [0u8; 7];
    mem.read(10, &mut b).unwrap();
    assert_eq!(&b, b"hehello");
    // Out of bounds: nothing written.
    assert_eq!(
        trap(call(&inst, "init", &[i(65534), i(0), i(5)])).kind(),
        Some(TrapKind::MemoryOutOfBounds)
    );
    mem.read(65534, &mut b[..2]).unwrap();
    assert_eq!(&b[..2], &[0, 0]);
    // Zero-length at the very end is fine.
    call(&inst, "copy", &[i(65536), i(65536), i(0)]).unwrap();
    call(&inst, "drop", &[]).unwrap();
    assert_eq!(
        trap(call(&inst, "init", &[i(0), i(0), i(1)])).kind(),
        Some(TrapKind::MemoryOutOfBounds)
    );
    call(&inst, "init", &[i(0), i(0), i(0)]).unwrap();

    call(&inst, "tinit", &[i(0), i(0), i(2)]).unwrap();
    call(&inst, "tcopy", &[i(2), i(0), i(2)]).unwrap();
    assert_eq!(call_i32(&inst, "tcall", &[i(3)]), 2);
    assert_eq!(call_i32(&inst, "tgrow", &[i(2)]), 4);
    assert_eq!(call_i32(&inst, "tgrow", &[i(-1)]), -1);
    assert_eq!(
        trap(call(&inst, "tcall", &[i(5)])).kind(),
        Some(TrapKind::UninitializedElement)
    );
    assert_eq!(
        trap(call(&inst, "tcopy", &[i(5), i(0), i(2)])).kind(),
        Some(TrapKind::TableOutOfBounds)
    );
    call(&inst, "edrop", &[]).unwrap();
    assert_eq!(
        trap(call(&inst, "tinit", &[i(0), i(0), i(1)])).kind(),
        Some(TrapKind::TableOutOfBounds)
    );
}

#[test]
fn dropping_everything_frees_the_instance() {
    let engine = Engine::default();
    let token = Arc::new(());
    let t = token.clone();
    let mut linker = Linker::new(&engine);
    linker.func_new("env", "f", FuncType::new([], []), move |_, _, _| {
        let _ = &t;
        Ok(())
    });
    let inst = linker
        .instantiate(&module(
            &engine,
            r#"(module (import "env" "f" (func $f)) (table 2 funcref) (elem (i32.const 0) $f $g)
              (func $g (export "g") (param funcref) call $f) (memory 1))"#,
        ))
        .unwrap();
    let g = inst.get_func("g").unwrap();
    // Passing the instance's own function to itself must not create a cycle.
    g.call(&[Val::FuncRef(Some(g.clone()))]).unwrap();
    drop((g, inst, linker));
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "instance (and its imports) leaked"
    );
}

#[test]
fn exported_handles_keep_their_instance_alive() {
    let inst = instantiate(
        r#"(module (table (export "t") 1 funcref) (func $f (result i32) i32.const 5)
          (elem (i32.const 0) $f) (global (export "g") funcref (ref.func $f)))"#,
    );
    let Some(Extern::Table(t)) = inst.get_export("t") else {
        panic!()
    };
    let Some(Extern::Global(g)) = inst.get_export("g") else {
        panic!()
    };
    drop(inst);
    let Some(Val::FuncRef(Some(f))) = t.get(0) else {
        panic!()
    };
    assert!(matches!(f.call(&[]).unwrap()[..], [Val::I32(5)]));
    let Val::FuncRef(Some(f)) = g.get() else {
        panic!()
    };
    drop(t);
    assert!(matches!(f.call(&[]).unwrap()[..], [Val::I32(5)]));
}

#[test]
fn one_linker_serves_instances_with_their_own_data() {
    // The host function reads the calling instance's data: a counter of
    // its own, so two instances of one module through one linker count
    // apart, also from the start function.
    struct Counter(std::sync::atomic::AtomicI32);
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    linker.func_new(
        "host",
        "bump",
        FuncType::new(vec![], vec![ValType::I32]),
        |caller, _, results| {
            let c = caller
                .data::<Counter>()
                .ok_or_else(|| faasm_runtime::Trap::host("no counter"))?;
            let n = c.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            results[0] = Val::I32(n);
            Ok(())
        },
    );
    let m = module(
        &engine,
        r#"(module
          (import "host" "bump" (func $bump (result i32)))
          (func $init (drop (call $bump)))
          (start $init)
          (func (export "bump") (result i32) (call $bump)))"#,
    );
    let a = linker
        .instantiate_with(&m, Arc::new(Counter(10.into())))
        .unwrap();
    let b = linker
        .instantiate_with(&m, Arc::new(Counter(100.into())))
        .unwrap();
    assert_eq!(call_i32(&a, "bump", &[]), 12);
    assert_eq!(call_i32(&b, "bump", &[]), 102);
    assert_eq!(call_i32(&a, "bump", &[]), 13);
    // Data of another type, or none, is not found: the host decides.
    let err = linker.instantiate(&m).unwrap_err();
    assert!(err.to_string().contains("no counter"), "{err}");
    let err = linker.instantiate_with(&m, Arc::new(7u8)).unwrap_err();
    assert!(err.to_string().contains("no counter"), "{err}");
}

#[test]
fn typed_and_raw_host_functions_called_from_wasm() {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    // Mixed types in one signature: each parameter must come from its own
    // slot, the i64 and the floats included.
    linker.func_wrap(
        "env",
        "mix",
        |_: &mut faasm_runtime::Caller<'_>, a: i32, b: i64, c: f32, d: f64, e: u32| {
            Ok(i64::from(a) * 1_000_000
                + b * 10_000
                + (c as i64) * 100
                + (d as i64) * 10
                + i64::from(e))
        },
    );
    linker.func_wrap(
        "env",
        "fail",
        |_: &mut faasm_runtime::Caller<'_>, code: i32| -> Result<(), faasm_runtime::Trap> {
            Err(faasm_runtime::Trap::host(format!("failed with {code}")))
        },
    );
    linker
        .func_new_raw(
            "env",
            "swap_sum",
            FuncType::new([ValType::I32, ValType::I64], [ValType::I64]),
            |_, slots| {
                let s = i64::from(slots[0].get::<i32>()) + slots[1].get::<i64>();
                slots[0] = faasm_runtime::RawVal::new(s);
                Ok(())
            },
        )
        .unwrap();
    let inst = linker
        .instantiate(&module(
            &engine,
            r#"(module
              (import "env" "mix" (func $mix (param i32 i64 f32 f64 i32) (result i64)))
              (import "env" "fail" (func $fail (param i32)))
              (import "env" "swap_sum" (func $ss (param i32 i64) (result i64)))
              (func (export "mix") (result i64)
                (call $mix (i32.const 1) (i64.const 2) (f32.const 3.5) (f64.const 4.25) (i32.const 5)))
              (func (export "fail") (call $fail (i32.const 7)))
              (func (export "ss") (result i64) (call $ss (i32.const -1) (i64.const 43))))"#,
        ))
        .unwrap();
    let r = call(&inst, "mix", &[]).unwrap();
    assert!(matches!(r[..], [Val::I64(1_020_345)]), "{r:?}");
    let r = call(&inst, "ss", &[]).unwrap();
    assert!(matches!(r[..], [Val::I64(42)]), "{r:?}");
    let e = call(&inst, "fail", &[]).unwrap_err().to_string();
    assert!(e.contains("failed with 7"), "{e}");
    // A typed function is type-checked at link time like any other.
    let wrong = module(
        &engine,
        r#"(module (import "env" "mix" (func (param i32) (result i64))))"#,
    );
    assert!(matches!(linker.instantiate(&wrong), Err(Error::Link(_))));
}
