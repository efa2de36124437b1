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
