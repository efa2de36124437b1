//! Measures instantiation (with a 1 MiB memory) and the cost of a
//! host→wasm call and a wasm→host call.
//! `cargo run --release -p faasm-runtime --example call_overhead`

use faasm_runtime::{Engine, FuncType, Linker, Module, Val, ValType};
use std::time::Instant;

const WAT: &str = r#"(module (import "env" "h" (func (param i32) (result i32)))
  (memory 16) (data (i32.const 0) "hello")
  (func (export "id") (param i32) (result i32) local.get 0)
  (func (export "host") (param i32) (result i32) local.get 0 call 0))"#;

fn main() {
    let engine = Engine::default();
    let module = Module::new(&engine, &faasm_testutil::wat(WAT)).expect("compile");
    let mut linker = Linker::new(&engine);
    linker.func_new(
        "env",
        "h",
        FuncType::new([ValType::I32], [ValType::I32]),
        |_, a, r| {
            r[0] = a[0].clone();
            Ok(())
        },
    );
    let t = Instant::now();
    let n_inst = 10_000;
    for _ in 0..n_inst {
        linker.instantiate(&module).unwrap();
    }
    println!(
        "instantiate: {:.2} us",
        t.elapsed().as_secs_f64() * 1e6 / n_inst as f64
    );
    let inst = linker.instantiate(&module).unwrap();
    for name in ["id", "host"] {
        let f = inst.get_func(name).unwrap();
        let n = 1_000_000;
        let t = Instant::now();
        for i in 0..n {
            let r = f.call(&[Val::I32(i)]).unwrap();
            assert!(matches!(r[..], [Val::I32(v)] if v == i));
        }
        println!(
            "call {name}: {:.1} ns",
            t.elapsed().as_secs_f64() * 1e9 / n as f64
        );
    }
}
