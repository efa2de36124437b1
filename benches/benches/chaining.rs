//! Chaining costs of the executor, side by side:
//!
//! - `chain_await_noop`: one `__faasm_chain_name` + `__faasm_await_call`
//!   round trip of a no-op function, issued from a guest (µs per call:
//!   each chained call is a fresh Faaslet, instantiated from the cached
//!   module, run on the pool);
//! - `fanout_1000`: a guest chains 1,000 no-op calls, then awaits them all.
//!
//! The cost of one host call is `examples/host-calls.rs`.

use criterion::{Criterion, Throughput};
use faasm::executor::{Executor, ExecutorConfig, FunctionStore};
use faasm_testutil::wat;
use std::time::Instant;

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

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_chaining(&mut c);
    c.final_summary();
}
