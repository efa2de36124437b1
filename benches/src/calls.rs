//! Call-overhead module: host→wasm calls of no-op exports, and wasm loops
//! that call an imported host no-op (or a wasm no-op, or nothing) N times.

use crate::{BenchError, wat_to_wasm};
use faasm_runtime::{Engine, FuncType, Instance, Linker, Module, Val, ValType};

const CALLS_WAT: &str = r#"
(module
  (import "bench" "noop0" (func $host0))
  (import "bench" "noop4" (func $host4 (param i32 i32 i32 i32)))
  (func $wasm0)
  (func (export "nop0"))
  (func (export "nop4") (param i32 i32 i32 i32))
  ;; Each loop runs $n iterations; "loop_empty" is the baseline that the
  ;; per-call numbers subtract.
  (func (export "loop_empty") (param $n i32)
    (loop $l
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "loop_host0") (param $n i32)
    (loop $l
      (call $host0)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "loop_host4") (param $n i32)
    (loop $l
      (call $host4 (local.get $n) (local.get $n) (local.get $n) (local.get $n))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "loop_wasm0") (param $n i32)
    (loop $l
      (call $wasm0)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
)
"#;

/// Iterations of the in-wasm loops per measured call.
pub const LOOP_ITERS: i32 = 10_000;

/// The instantiated call module with its host no-ops linked.
pub struct CallsModule {
    pub instance: Instance,
}

impl CallsModule {
    pub fn load(engine: &Engine) -> Result<CallsModule, BenchError> {
        let wasm = wat_to_wasm(CALLS_WAT).map_err(|e| BenchError::Other(e.to_string()))?;
        let module = Module::new(engine, &wasm)?;
        let mut linker = Linker::new(engine);
        linker.func_new("bench", "noop0", FuncType::new([], []), |_, _, _| Ok(()));
        linker.func_new(
            "bench",
            "noop4",
            FuncType::new([ValType::I32; 4], []),
            |_, _, _| Ok(()),
        );
        let instance = linker.instantiate(&module)?;
        Ok(CallsModule { instance })
    }

    /// An export, which must exist.
    pub fn func(&self, name: &str) -> faasm_runtime::Func {
        self.instance
            .get_func(name)
            .unwrap_or_else(|| panic!("calls module exports `{name}`"))
    }
}

/// Arguments for the 4-parameter no-op.
pub fn four_args() -> [Val; 4] {
    [Val::I32(1), Val::I32(2), Val::I32(3), Val::I32(4)]
}
