//! Cases the fuzzer found or that pin its own behaviour. Each runs real
//! modules through faasm (and, where the oracle agrees with the
//! specification, through the differential harness).

use faasm_fuzz::cases::{RunOptions, Runner, Verdict};
use faasm_fuzz::smith::{self, GenOptions};
use faasm_fuzz::wat_to_wasm;
use faasm_runtime::{Linker, MemoryStrategy, Module, Val};

fn call(wat: &str, name: &str, args: &[Val]) -> Vec<Val> {
    let engine = faasm_fuzz::faasm_side::engine(MemoryStrategy::default());
    let module = Module::new(&engine, &wat_to_wasm(wat).unwrap()).unwrap();
    let instance = Linker::new(&engine).instantiate(&module).unwrap();
    instance.get_func(name).unwrap().call(args).unwrap()
}

/// diff seed 100 case 13838, reduced: a `br_table` out of a block that
/// still holds one of its parameters must carry exactly the branch values
/// (the extra operand is discarded). wasmi 2.0.0 returns garbage for the
/// first value when the default target is the function; faasm is right.
#[test]
fn br_table_with_an_extra_operand_below_the_branch_values() {
    let wat = r#"(module
      (func (export "f") (param i32) (result i64 i32)
        f32.const 1
        block (param f32) (result i64 i32)
          i64.const 1
          i32.const 3
          local.get 0
          br_table 0 1 1
        end))"#;
    for index in [0, 1, 619] {
        let r = call(wat, "f", &[Val::I32(index)]);
        assert!(
            matches!(r[..], [Val::I64(1), Val::I32(3)]),
            "index {index}: {r:?}"
        );
    }
    let wat_v128 = wat
        .replace("i64.const 1", "v128.const i64x2 1 2")
        .replace("(result i64 i32)", "(result v128 i32)");
    let r = call(&wat_v128, "f", &[Val::I32(619)]);
    assert!(
        matches!(r[..], [Val::V128(v), Val::I32(3)] if v == (2u128 << 64 | 1)),
        "{r:?}"
    );
}

/// diff seed 20240601 case 58444, reduced: `select` on `ref.is_null` of
/// a null local picks its first operand (the spec; wabt's interpreter
/// agrees). wasmi 2.0.0 fuses the compare into the `select` and then
/// reads a stale register (left by the dropped `ref.func`), picks -2.0
/// and traps in `i64.trunc_f32_u` with integer overflow where faasm goes
/// on to `unreachable`. faasm is right; the harness counts such a
/// divergence as skipped with the oracle bug named, never as a pass.
#[test]
fn select_on_ref_is_null_of_a_local_after_a_dropped_value() {
    let wat = r#"(module
      (global (mut funcref) (ref.null func))
      (func $e (export "e") (param externref) (result i64)
        (local externref)
        f32.const 0x1.761694p-22
        ref.func $e
        global.set 0
        f32.const -2
        local.get 1
        ref.is_null
        select
        i64.trunc_f32_u))"#;
    let r = call(wat, "e", &[Val::ExternRef(None)]);
    assert!(matches!(r[..], [Val::I64(0)]), "{r:?}");
    let runner = Runner::new(RunOptions::default());
    let mut rng = smith::case_rng(7, 0);
    let v = runner.diff_wasm(
        &wat_to_wasm(wat).unwrap(),
        &mut rng,
        MemoryStrategy::default(),
    );
    assert_eq!(
        v,
        Verdict::Skip(
            faasm_fuzz::oracle_bugs::OracleBug::SelectAfterEqz
                .reason()
                .into()
        )
    );
}

/// diff seed 424242 case 195974, reduced: the else arm of an
/// `if (param f64)` (taken: the `i32x4.bitmask` is 0) sets global 4 to
/// the constant, then global 4 is set to the parameter `local.get 0` left
/// at the bottom of the stack and finally xored with it again, so global 4
/// ends at 0 (faasm and wabt's `wasm-interp` agree). wasmi 2.0.0 ends with
/// the parameter itself, and only when the untaken then-arm holds the
/// empty `loop`. faasm is right; the harness counts the divergence as
/// skipped with the oracle bug named.
#[test]
fn nested_loop_in_an_if_with_params() {
    let wat = r#"(module
      (type (func (param f64)))
      (memory 4 6)
      (global (mut i64) i64.const 1586593198256050688)
      (global (mut i32) i32.const -1217341139)
      (global (mut v128) v128.const i32x4 0x43d5c1be 0xd172e252 0x05020d6c 0xadc266cc)
      (global (mut i64) i64.const 0)
      (global (mut i64) i64.const 0)
      (global (mut v128) v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000)
      (global (mut i32) i32.const 20000)
      (export "1" (func 0))
      (export "9" (global 4))
      (func (type 0) (param f64)
        (local i64 f64 f64 v128 v128)
        local.get 0
        local.get 1
        loop
          memory.size
          f64.load offset=203528 align=2
          i64.trunc_f64_u
          loop (result v128)
            loop
              i64.const 70368744177664
              local.get 0
              v128.const i32x4 0xcea58398 0xb0d1d1e6 0x45cca8ea 0x716fe80b
              f64.const -0x1.d1da6fd9ff50bp-811
              v128.const i32x4 0xeca6be9f 0x2e5fe888 0x93436c81 0x2a08512b
              v128.const i32x4 0x00000000 0x7ff80000 0x00000000 0x7ff80000
              local.get 4
              v128.bitselect
              i32x4.bitmask
              if (type 0) (param f64)
                memory.size
                v128.const i32x4 0x49471519 0xc1610ad3 0x2b404c12 0xdbb17abf
                v128.const i32x4 0x0c72d72d 0xe9b831fd 0xc13dedbd 0xc53f6416
                f32.const 0x1.4ed5e6p+81
                i32.trunc_sat_f32_u
                f64.convert_i32_s
                i32.const 872415232
                loop
                end
                global.set 6
                i64.reinterpret_f64
                global.set 4
                v128.xor
                global.set 5
                global.set 6
                i64.reinterpret_f64
                global.set 4
              else
                i64.reinterpret_f64
                global.set 4
              end
              global.set 5
              i64.reinterpret_f64
              global.set 4
              global.set 3
            end
            v128.const i32x4 0x7fc00000 0x00000000 0xffffffff 0xfffffffe
          end
          global.set 5
          global.set 3
        end
        global.set 3
        i64.reinterpret_f64
        global.get 4
        i64.xor
        global.set 4
      )
      (func (export "r") (param f64) (result i64)
        local.get 0
        call 0
        global.get 4)
    )"#;
    for x in [f64::NAN, f64::NEG_INFINITY, -3.722262439236473e289, 1.5] {
        let r = call(wat, "r", &[Val::F64(x.to_bits())]);
        assert!(matches!(r[..], [Val::I64(0)]), "{x}: {r:?}");
    }
    let runner = Runner::new(RunOptions::default());
    let mut rng = smith::case_rng(7, 0);
    let v = runner.diff_wasm(
        &wat_to_wasm(wat).unwrap(),
        &mut rng,
        MemoryStrategy::default(),
    );
    assert_eq!(
        v,
        Verdict::Skip(
            faasm_fuzz::oracle_bugs::OracleBug::BlockInIfWithParams
                .reason()
                .into()
        )
    );
}

/// The harness end to end: a module exercising memory, globals, a table
/// and traps agrees between faasm and wasmi under every memory strategy.
#[test]
fn diff_harness_agrees_on_a_known_module() {
    let wasm = wat_to_wasm(
        r#"(module
      (memory (export "m") 1 2)
      (global (export "g") (mut i64) (i64.const 5))
      (table (export "t") 2 funcref)
      (func $id (export "id") (param i32) (result i32) local.get 0)
      (elem (i32.const 1) $id)
      (func (export "store") (param i32 i64)
        local.get 0
        local.get 1
        i64.store
        global.get 0
        local.get 1
        i64.add
        global.set 0)
      (func (export "div") (param i32 i32) (result i32)
        local.get 0
        local.get 1
        i32.div_s)
      (func (export "grow") (param i32) (result i32)
        local.get 0
        memory.grow)
      (func (export "fnan") (param f32) (result f32)
        local.get 0
        local.get 0
        f32.sub))"#,
    )
    .unwrap();
    let runner = Runner::new(RunOptions {
        rounds: 8,
        ..RunOptions::default()
    });
    for strategy in [MemoryStrategy::default(), MemoryStrategy::Explicit] {
        let mut rng = smith::case_rng(7, 0);
        let v = runner.diff_wasm(&wasm, &mut rng, strategy);
        assert_eq!(v, Verdict::Pass, "{strategy:?}");
    }
}

/// The state comparison ignores NaN payloads and pinpoints a memory
/// difference.
#[test]
fn state_diff_reports_the_first_differing_byte() {
    use faasm_fuzz::value::{State, Value};
    let a = State {
        globals: vec![("g".into(), Value::F32(0x7fc0_0001))],
        memories: vec![("m".into(), vec![0, 1, 2, 3])],
        tables: vec![],
    };
    let mut b = a.clone();
    // NaN payloads are canonicalised: still equal.
    b.globals[0].1 = Value::F32(0xffc0_0000);
    assert_eq!(a.diff(&b), None);
    b.memories[0].1[2] = 9;
    let d = a.diff(&b).unwrap();
    assert!(d.contains("offset 2"), "{d}");
}

/// (seed, case) names a module exactly, independently of other cases.
#[test]
fn generation_is_reproducible() {
    let opts = GenOptions::default();
    for case in [0, 5, 1234] {
        let a = smith::generate(42, case, &opts).unwrap().wasm;
        let b = smith::generate(42, case, &opts).unwrap().wasm;
        assert_eq!(a, b, "case {case}");
        assert!(wasmparser::validate(&a).is_ok(), "case {case} is valid");
    }
    let a = smith::generate(42, 1, &opts).unwrap().wasm;
    let b = smith::generate(43, 1, &opts).unwrap().wasm;
    assert_ne!(a, b);
}

/// A small campaign of each generating mode runs clean.
#[test]
fn short_campaigns_pass() {
    let runner = Runner::new(RunOptions::default());
    for mode in [
        faasm_fuzz::Mode::Compile,
        faasm_fuzz::Mode::Exec,
        faasm_fuzz::Mode::Diff,
    ] {
        for case in 0..40 {
            let (v, _) = faasm_fuzz::run_one(&runner, mode, 3, case);
            assert!(
                !matches!(v, Verdict::Fail(_)),
                "{mode:?} case {case}: {v:?}"
            );
        }
    }
}

/// A truncated artifact, or one with a flipped bit, is refused; a
/// corrupted body re-tagged with the engine's key (as only a holder of the
/// key could) still gives an error here (it no longer decodes), not a
/// panic.
#[test]
fn corrupted_artifacts_are_refused() {
    let engine = faasm_fuzz::faasm_side::engine(MemoryStrategy::default());
    let wasm = wat_to_wasm(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
    let good = Module::new(&engine, &wasm).unwrap().serialize();
    assert!(Module::from_artifact(&engine, &good).is_ok());
    assert!(Module::from_artifact(&engine, &good[..good.len() - 1]).is_err());
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 4;
    assert!(Module::from_artifact(&engine, &flipped).is_err());
    let header = faasm_abi::ARTIFACT_MAGIC.len() + faasm_abi::key::KEY_LEN;
    let mut body = good[header..].to_vec();
    body.truncate(body.len() / 2);
    let mut hostile = good[..8].to_vec();
    hostile.extend_from_slice(&engine.config().artifact_key.tag(&body));
    hostile.extend_from_slice(&body);
    let runner = Runner::new(RunOptions::default());
    assert_eq!(
        faasm_fuzz::artifact::check_file(&runner, &hostile),
        Verdict::Pass
    );
}
