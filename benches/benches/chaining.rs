//! Chaining and host-call costs of the executor, side by side:
//!
//! - `chain_await_noop`: one `__faasm_chain_name` + `__faasm_await_call`
//!   round trip of a no-op function, issued from a guest (µs per call:
//!   each chained call is a fresh Faaslet, instantiated from the cached
//!   module, run on the pool);
//! - `fanout_1000`: a guest chains 1,000 no-op calls, then awaits them all;
//! - host calls (ns per call, a wasm loop of 10,000, minus the same empty
//!   loop): `__faasm_read_input(0, 0)` vs WASI `fd_write` of 1 byte to a
//!   null sink.

use criterion::{Criterion, Throughput};
use faasm::executor::{Executor, ExecutorConfig, FunctionStore};
use faasm_hostif::faasm::{
    Awaited, CallCtx, CallId, ChainError, ChainTarget, Chainer, FaasmCtx, StateStore,
};
use faasm_hostif::wasi::{self, WasiCtx};
use faasm_runtime::{Engine, Linker, Module, Val};
use faasm_testutil::wat;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOOP_ITERS: i32 = 10_000;

const NOOP: &str = r#"(module (func (export "_start")))"#;

/// Input n (i32 LE): chains and awaits "noop" n times, one after another.
const SEQUENTIAL: &str = r#"(module
  (import "env" "__faasm_read_input" (func $in (param i32 i32) (result i32)))
  (import "env" "__faasm_chain_name" (func $chain (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_await_call" (func $await (param i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "noop\00")
  (func (export "_start") (local $n i32)
    (drop (call $in (i32.const 8) (i32.const 4)))
    (local.set $n (i32.load (i32.const 8)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (drop (call $await (call $chain (i32.const 0) (i32.const 0) (i32.const 0))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))))"#;

/// Input n: chains n "noop" calls, then awaits them all.
const FANOUT: &str = r#"(module
  (import "env" "__faasm_read_input" (func $in (param i32 i32) (result i32)))
  (import "env" "__faasm_chain_name" (func $chain (param i32 i32 i32) (result i32)))
  (import "env" "__faasm_await_call" (func $await (param i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "noop\00")
  (func (export "_start") (local $n i32) (local $i i32)
    (drop (call $in (i32.const 8) (i32.const 4)))
    (local.set $n (i32.load (i32.const 8)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))
        (call $chain (i32.const 0) (i32.const 0) (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.set $i (i32.const 0))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (drop (call $await (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))))"#;

/// Loops of n host calls, and the same loop empty.
const HOSTCALLS: &str = r#"(module
  (import "env" "__faasm_read_input" (func $in (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 0) "\10\00\00\00\01\00\00\00")
  (func (export "loop_empty") (param $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))))
  (func (export "loop_read_input") (param $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (drop (call $in (i32.const 0) (i32.const 0)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))))
  (func (export "loop_fd_write") (param $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))))"#;

fn executor() -> (Executor, std::path::PathBuf) {
    let home = faasm_testutil::scratch_dir("bench-chaining");
    let exec = Executor::new(FunctionStore::new(&home), ExecutorConfig::default());
    exec.upload("bench", "noop", &wat(NOOP)).expect("noop");
    exec.upload("bench", "sequential", &wat(SEQUENTIAL))
        .expect("sequential");
    exec.upload("bench", "fanout", &wat(FANOUT))
        .expect("fanout");
    (exec, home)
}

fn run(exec: &Executor, func: &str, n: u32) {
    let r = exec.invoke("bench", func, n.to_le_bytes().to_vec());
    assert_eq!(r.return_code, 0, "{}", String::from_utf8_lossy(&r.output));
}

fn bench_chaining(c: &mut Criterion) {
    let (exec, home) = executor();
    let mut group = c.benchmark_group("chaining");
    group.bench_function("chain_await_noop", |b| {
        b.iter_custom(|iters| {
            // One parent for the whole batch; its own start-up is
            // amortised over `iters` chained calls.
            let start = Instant::now();
            run(&exec, "sequential", iters as u32);
            start.elapsed()
        })
    });
    group.bench_function("invoke_noop_from_host", |b| {
        b.iter(|| run(&exec, "noop", 0))
    });
    group.sample_size(10);
    group.throughput(Throughput::Elements(1000));
    group.bench_function("fanout_1000", |b| b.iter(|| run(&exec, "fanout", 1000)));
    group.finish();
    drop(exec);
    let _ = std::fs::remove_dir_all(home);
}

/// A chainer for host-call benchmarks: nothing is ever chained.
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

fn bench_host_calls(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(&engine, &wat(HOSTCALLS)).expect("compile");
    let mut linker = Linker::new(&engine);
    // Default stdout: the null sink.
    wasi::add_to_linker(&mut linker, WasiCtx::builder().build().expect("wasi"));
    let ctx = FaasmCtx::new(
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
    faasm_hostif::faasm::add_to_linker(&mut linker, &ctx);
    let instance = linker.instantiate(&module).expect("instantiate");
    let mut group = c.benchmark_group("host_calls");
    group.throughput(Throughput::Elements(LOOP_ITERS as u64));
    let mut medians = Vec::new();
    for name in ["loop_empty", "loop_read_input", "loop_fd_write"] {
        let f = instance.get_func(name).expect(name);
        let mut samples: Vec<Duration> = Vec::new();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    f.call(&[Val::I32(LOOP_ITERS)]).expect(name);
                }
                let e = start.elapsed();
                samples.push(e / iters.max(1) as u32);
                e
            })
        });
        samples.sort();
        medians.push((
            name,
            samples.get(samples.len() / 2).copied().unwrap_or_default(),
        ));
    }
    group.finish();
    let per_call = |d: Duration| d.as_nanos() as f64 / f64::from(LOOP_ITERS);
    let base = per_call(medians[0].1);
    println!("\nhost call overhead, ns per call (loop of {LOOP_ITERS}, empty loop subtracted):");
    for (name, d) in &medians[1..] {
        println!("  {name:<16} {:>8.1}", per_call(*d) - base);
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_chaining(&mut c);
    bench_host_calls(&mut c);
    c.final_summary();
}
