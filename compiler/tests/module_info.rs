//! What the compiler records about a module: a module without function
//! bodies exercises parsing, validation, trampolines and the artifact
//! independently of the function translator.

mod common;
use common::*;
use faasm_abi::*;

const NO_BODIES: &str = r#"
(module
  (type $unused (func (param f32) (result f64)))
  (import "env" "log" (func $log (param i32 i64)))
  (import "env" "pair" (func $pair (param v128) (result i32 i64 f64)))
  (import "env" "log2" (func $log2 (param i32 i64)))
  (import "env" "init" (func $init))
  (import "env" "g" (global $g i32))
  (memory (export "memory") 1 2)
  (table $t 4 funcref)
  (global $h (export "h") (mut i64) (i64.const -5))
  (global $k i32 (global.get $g))
  (global $r funcref (ref.func $log))
  (global $f f64 (f64.const 1.5))
  (export "log" (func $log))
  (export "table" (table $t))
  (start $init)
  (elem (i32.const 1) $log $pair)
  (elem funcref (ref.func $log2) (ref.null func))
  (elem declare func $log)
  (data (i32.const 16) "hello")
  (data "passive")
)
"#;

#[test]
fn module_without_bodies_compiles() {
    let a = compile_wat(NO_BODIES);
    let i = &a.info;

    // Types: $unused, (i32 i64), (v128)->(i32 i64 f64), () — the two
    // `(param i32 i64)` imports share one type.
    assert_eq!(i.types.len(), 4);
    assert_eq!(i.types[0], FuncType::new([ValType::F32], [ValType::F64]));
    assert_eq!(i.funcs, vec![1, 2, 1, 3]);
    assert_eq!(i.num_imported_funcs, 4);
    assert_eq!(i.num_defined_funcs(), 0);
    assert_eq!(i.imports[1].name, "pair");
    assert_eq!(
        i.imports[4].ty,
        EntityType::Global(GlobalType {
            ty: ValType::I32,
            mutable: false
        })
    );

    assert_eq!(
        i.memories,
        vec![MemoryType {
            min: 1,
            max: Some(2),
            shared: false,
            memory64: false
        }]
    );
    assert_eq!(
        i.tables,
        vec![TableType {
            elem: ValType::FuncRef,
            min: 4,
            max: None
        }]
    );
    assert_eq!(i.num_imported_globals, 1);
    assert_eq!(
        i.globals[0],
        (
            GlobalType {
                ty: ValType::I32,
                mutable: false
            },
            None
        )
    );
    assert_eq!(
        i.globals[1],
        (
            GlobalType {
                ty: ValType::I64,
                mutable: true
            },
            Some(ConstExpr(vec![ConstOp::I64Const(-5)]))
        )
    );
    assert_eq!(i.globals[2].1, Some(ConstExpr(vec![ConstOp::GlobalGet(0)])));
    assert_eq!(i.globals[3].1, Some(ConstExpr(vec![ConstOp::RefFunc(0)])));
    assert_eq!(
        i.globals[4].1,
        Some(ConstExpr(vec![ConstOp::F64Const(1.5f64.to_bits())]))
    );

    assert_eq!(
        i.export("h").map(|e| (e.kind, e.index)),
        Some((ExportKind::Global, 1))
    );
    assert_eq!(
        i.export("table").map(|e| (e.kind, e.index)),
        Some((ExportKind::Table, 0))
    );
    assert_eq!(i.export("memory").map(|e| e.kind), Some(ExportKind::Memory));
    assert_eq!(i.start, Some(3));

    assert_eq!(i.elems.len(), 3);
    assert_eq!(
        i.elems[0],
        ElemSegment {
            mode: SegmentMode::Active {
                index: 0,
                offset: ConstExpr(vec![ConstOp::I32Const(1)])
            },
            ty: ValType::FuncRef,
            items: vec![
                ConstExpr(vec![ConstOp::RefFunc(0)]),
                ConstExpr(vec![ConstOp::RefFunc(1)])
            ],
        }
    );
    assert_eq!(i.elems[1].mode, SegmentMode::Passive);
    assert_eq!(
        i.elems[1].items,
        vec![
            ConstExpr(vec![ConstOp::RefFunc(2)]),
            ConstExpr(vec![ConstOp::RefNull(ValType::FuncRef)])
        ]
    );
    assert_eq!(i.elems[2].mode, SegmentMode::Declared);

    assert_eq!(i.data[0].bytes, b"hello");
    assert_eq!(
        i.data[0].mode,
        SegmentMode::Active {
            index: 0,
            offset: ConstExpr(vec![ConstOp::I32Const(16)])
        }
    );
    assert_eq!(
        i.data[1],
        DataSegment {
            mode: SegmentMode::Passive,
            bytes: b"passive".to_vec()
        }
    );

    // Names come from the name section that `wast` emits for `$ids`.
    assert_eq!(i.func_name(1), Some("pair"));
    assert_eq!(i.func_name(3), Some("init"));

    // One entry trampoline per type, one host trampoline per distinct
    // imported function type; each host trampoline has its HostError trap.
    let entry: Vec<_> = a.entry_trampolines.iter().map(|(t, _)| *t).collect();
    assert_eq!(entry, vec![0, 1, 2, 3]);
    let host: Vec<_> = a.host_trampolines.iter().map(|(t, _)| *t).collect();
    assert_eq!(host, vec![1, 2, 3]);
    let host_traps = a
        .traps
        .iter()
        .filter(|t| t.kind == TrapKind::HostError)
        .count();
    assert_eq!(host_traps, 3);
    for (_, off) in a.entry_trampolines.iter().chain(&a.host_trampolines) {
        assert_eq!(off % 16, 0, "trampolines start 16-byte aligned");
        assert!((*off as usize) < a.text.len());
    }
    assert!(
        a.traps.windows(2).all(|w| w[0].offset < w[1].offset),
        "sorted"
    );
    assert!(a.funcs.is_empty());
    assert_eq!(a.target, faasm_compiler::host_target());
    assert_eq!(a.compiler_version, faasm_compiler::version());
}

#[test]
fn config_is_recorded() {
    let config = faasm_compiler::CompileConfig {
        memory_strategy: MemoryStrategy::Explicit,
        poll_interrupts: true,
        parallel: false,
        opt_level: "none",
        ..Default::default()
    };
    let a = faasm_compiler::compile(&wat("(module (memory 1))"), &config).unwrap();
    assert_eq!(a.memory_strategy, MemoryStrategy::Explicit);
    assert!(a.poll_interrupts);
}

#[test]
fn module_name_comes_from_the_name_section() {
    let named = compile(&wat(r#"(module $kernels (func $f))"#)).unwrap();
    assert_eq!(named.info.module_name.as_deref(), Some("kernels"));
    assert_eq!(named.info.func_names, vec![(0, "f".to_string())]);
    let anonymous = compile(&wat(r#"(module (func $f))"#)).unwrap();
    assert_eq!(anonymous.info.module_name, None);
}

#[test]
fn malformed_name_section_is_ignored() {
    let mut wasm = wat(r#"(module (import "m" "f" (func)))"#);
    // A custom section "name" whose function subsection claims more
    // names than it holds.
    let payload: &[u8] = &[4, b'n', b'a', b'm', b'e', 1, 4, 5, 0, 1, b'f'];
    wasm.push(0);
    wasm.push(payload.len() as u8);
    wasm.extend_from_slice(payload);
    let a = compile(&wasm).expect("a broken name section must not fail the compile");
    // What was readable before the damage is kept.
    assert_eq!(a.info.func_names, vec![(0, "f".to_string())]);
}

#[test]
fn wasm2_features_reject_later_proposals() {
    let wasm2 = faasm_compiler::CompileConfig {
        features: faasm_compiler::Features::WASM2,
        ..Default::default()
    };
    // SIMD, bulk memory, reference types, multi-value: part of 2.0.
    let simd = wat("(module (global v128 (v128.const i64x2 1 2)) (table 1 externref))");
    faasm_compiler::compile(&simd, &wasm2).expect("2.0 module under WASM2 features");
    // Threads (shared memory) and multi-memory: invalid under exactly 2.0,
    // accepted by the default feature set.
    for text in [
        "(module (memory 1 1 shared))",
        "(module (memory 1) (memory 1))",
    ] {
        let err = faasm_compiler::compile(&wat(text), &wasm2).unwrap_err();
        assert!(
            matches!(err, faasm_compiler::CompileError::Invalid { .. }),
            "{text}: {err}"
        );
        compile(&wat(text)).unwrap_or_else(|e| panic!("{text} under default features: {e}"));
    }
}

#[test]
fn interrupt_polls_are_emitted_only_when_asked_for() {
    let src = wat(r#"(module (func (export "spin") (loop br 0)))"#);
    let sites = |poll_interrupts| {
        let config = faasm_compiler::CompileConfig {
            poll_interrupts,
            ..Default::default()
        };
        let a = faasm_compiler::compile(&src, &config).unwrap();
        a.traps
            .iter()
            .filter(|t| t.kind == faasm_abi::TrapKind::Interrupt)
            .count()
    };
    // By default the runtime stops code with a signal: the loop is bare.
    assert_eq!(sites(false), 0);
    assert_eq!(sites(true), 1);
    assert!(!faasm_compiler::CompileConfig::default().poll_interrupts);
}
