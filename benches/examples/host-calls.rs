//! The cost of one host call, side by side in one run: a wasm loop of
//! 10,000 calls to each import, minus the same loop empty, in interleaved
//! rounds (medians). The floor is a host no-op of the same signature as
//! `__faasm_read_input`, typed (`Linker::func_wrap`) and over `Val`
//! slices (`Linker::func_new`); against it, the Faasm and WASI calls as
//! the executor links them (one shared linker, the Faaslet's context
//! attached to the instance).
//!
//! `cargo run --release -p faasm-benches --example host-calls [-- ROUNDS]`

use faasm_benches::timing::measure_interleaved;
use faasm_hostif::HostCtx;
use faasm_hostif::faasm::{
    Awaited, CallCtx, CallId, ChainError, ChainTarget, Chainer, FaasmCtx, StateStore,
};
use faasm_hostif::wasi::{self, WasiCtx};
use faasm_runtime::{Caller, Engine, FuncType, Linker, Module, Trap, Val, ValType};
use faasm_testutil::wat;
use std::sync::Arc;

const LOOP_ITERS: i32 = 10_000;

/// The module's imports.
const IMPORTS: &str = r#"
  (import "bench" "noop2" (func $noop2 (param i32 i32) (result i32)))
  (import "bench" "wrap2" (func $wrap2 (param i32 i32) (result i32)))
  (import "env" "__faasm_read_input" (func $in (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "\10\00\00\00\01\00\00\00")"#;

/// Each loop's export name and the call it makes (its result dropped),
/// the empty loop first.
const LOOPS: &[(&str, &str)] = &[
    ("loop_empty", ""),
    ("loop_noop2", "(call $noop2 (i32.const 0) (i32.const 0))"),
    ("loop_wrap2", "(call $wrap2 (i32.const 0) (i32.const 0))"),
    ("loop_read_input", "(call $in (i32.const 0) (i32.const 0))"),
    (
        "loop_fd_write",
        "(call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32))",
    ),
    (
        "loop_clock",
        "(call $clock (i32.const 1) (i64.const 0) (i32.const 64))",
    ),
];

/// The module: one loop of `$n` iterations per entry of [`LOOPS`].
fn hostcalls_wat() -> String {
    let mut wat = format!("(module {IMPORTS}");
    for (name, call) in LOOPS {
        let body = if call.is_empty() {
            String::new()
        } else {
            format!("(drop {call})")
        };
        wat.push_str(&format!(
            r#"
  (func (export "{name}") (param $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      {body}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))))"#
        ));
    }
    wat.push(')');
    wat
}

struct NoChains;

impl Chainer for NoChains {
    fn chain(
        &self,
        _: &CallCtx,
        _: ChainTarget,
        _: Vec<u8>,
        _: faasm_runtime::HostCharge,
    ) -> Result<CallId, ChainError> {
        Ok(0)
    }
    fn await_call(&self, _: &CallCtx, _: CallId) -> Awaited {
        Awaited::Foreign
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROUNDS is a number"))
        .unwrap_or(41);
    let engine = Engine::default();
    let module = Module::new(&engine, &wat(&hostcalls_wat())).expect("compile");
    // As the executor links: one linker, every Faaslet's context attached
    // to its instance.
    let mut linker = Linker::new(&engine);
    wasi::add_to_linker_shared(&mut linker);
    faasm_hostif::faasm::add_to_linker_shared(&mut linker);
    linker.func_new(
        "bench",
        "noop2",
        FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
        |_, _, r| {
            r[0] = Val::I32(0);
            Ok(())
        },
    );
    linker.func_wrap(
        "bench",
        "wrap2",
        |_: &mut Caller<'_>, _: u32, _: u32| -> Result<i32, Trap> { Ok(0) },
    );
    let faasm = FaasmCtx::new(
        CallCtx {
            id: 1,
            user: "bench".into(),
            function: "hostcalls".into(),
            deadline: None,
        },
        b"input".to_vec(),
        faasm_hostif::faasm::DEFAULT_OUTPUT_LIMIT,
        Arc::new(NoChains),
        Arc::new(StateStore::default()),
    );
    // Default stdout: the null sink.
    let ctx = HostCtx {
        wasi: WasiCtx::builder().build().expect("wasi"),
        faasm: Some(faasm),
    };
    let instance = linker
        .instantiate_with(&module, Arc::new(ctx))
        .expect("instantiate");

    let names: Vec<&str> = LOOPS.iter().map(|(name, _)| *name).collect();
    let funcs: Vec<_> = names
        .iter()
        .map(|n| instance.get_func(n).expect(n))
        .collect();
    let looper = |f: &faasm_runtime::Func| {
        let f = f.clone();
        move || {
            f.call(&[Val::I32(LOOP_ITERS)]).expect("loop");
        }
    };
    let [mut l0, mut l1, mut l2, mut l3, mut l4, mut l5] =
        [0, 1, 2, 3, 4, 5].map(|i| looper(&funcs[i]));
    let stats = measure_interleaved(
        rounds,
        &mut [&mut l0, &mut l1, &mut l2, &mut l3, &mut l4, &mut l5],
    );
    let per_call: Vec<f64> = stats
        .iter()
        .map(|s| s.median.as_nanos() as f64 / f64::from(LOOP_ITERS))
        .collect();
    // The floor: a typed no-op of `__faasm_read_input`'s signature.
    let floor = per_call[2] - per_call[0];
    println!(
        "ns per host call ({rounds} interleaved rounds of {LOOP_ITERS} calls, empty loop subtracted, medians):"
    );
    for (name, t) in names.iter().zip(&per_call).skip(1) {
        let ns = t - per_call[0];
        println!(
            "  {name:<16} {ns:>7.1} ns  ({:.2}x the typed no-op)",
            ns / floor
        );
    }
}
