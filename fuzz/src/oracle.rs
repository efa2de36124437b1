//! The oracle: the wasmi interpreter, configured for the same proposals.

use crate::value::{Outcome, State, TrapClass, Value};
use wasmi::{Engine, Extern, Func, Instance, Linker, Module, Nullable, Store, Val};

/// wasmi's own fuel, a backstop per call in case the module's fuel
/// counter does not bound it: running out is inconclusive, not a result.
const ORACLE_FUEL: u64 = 200_000_000;

pub fn engine(simd: bool) -> Engine {
    let mut c = wasmi::Config::default();
    c.wasm_sign_extension(true)
        .wasm_saturating_float_to_int(true)
        .wasm_multi_value(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_multi_memory(true)
        .wasm_simd(simd)
        .wasm_relaxed_simd(false)
        .wasm_memory64(false)
        .wasm_wide_arithmetic(false)
        .wasm_custom_page_sizes(false)
        .consume_fuel(true)
        // Deeper than the generated modules' fuel allows, so that only
        // faasm's stack limit can be hit by fuel-bounded recursion.
        .set_max_recursion_depth(100_000)
        .set_max_stack_height(64 << 20);
    Engine::new(&c)
}

fn to_val(store: &mut Store<()>, v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(x) => Val::F32(wasmi::F32::from_bits(x)),
        Value::F64(x) => Val::F64(wasmi::F64::from_bits(x)),
        Value::V128(x) => Val::V128(wasmi::V128::from(x)),
        Value::FuncRef(_) => Val::FuncRef(Nullable::Null),
        Value::ExternRef(None) => Val::ExternRef(Nullable::Null),
        Value::ExternRef(Some(n)) => Val::ExternRef(Nullable::Val(wasmi::ExternRef::new(store, n))),
    }
}

fn func_type_string(store: &Store<()>, f: &Func) -> String {
    let ty = f.ty(store);
    let list = |v: &[wasmi::ValType]| {
        v.iter()
            .map(|t| match t {
                wasmi::ValType::I32 => "i32",
                wasmi::ValType::I64 => "i64",
                wasmi::ValType::F32 => "f32",
                wasmi::ValType::F64 => "f64",
                wasmi::ValType::V128 => "v128",
                wasmi::ValType::FuncRef => "funcref",
                wasmi::ValType::ExternRef => "externref",
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Formatted as faasm_abi::FuncType displays.
    format!(
        "(func (param {}) (result {}))",
        list(ty.params()),
        list(ty.results())
    )
}

fn from_val(store: &Store<()>, v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(x.to_bits()),
        Val::F64(x) => Value::F64(x.to_bits()),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(f) => Value::FuncRef(f.val().map(|f| func_type_string(store, f))),
        Val::ExternRef(r) => Value::ExternRef(r.val().map(|r| {
            r.data(store)
                .downcast_ref::<u32>()
                .copied()
                .unwrap_or(u32::MAX)
        })),
    }
}

pub fn outcome_of_error(e: &wasmi::Error) -> Outcome {
    match e.as_trap_code() {
        Some(wasmi::TrapCode::OutOfFuel) => Outcome::Inconclusive("oracle out of fuel"),
        Some(wasmi::TrapCode::OutOfSystemMemory) => Outcome::Inconclusive("oracle out of memory"),
        Some(code) => Outcome::Trapped(TrapClass::from_wasmi(code)),
        None => Outcome::Error(e.to_string()),
    }
}

pub struct Oracle {
    store: Store<()>,
    instance: Instance,
}

impl Oracle {
    /// Instantiates (running the start function); `Err` is the outcome of
    /// a failed instantiation.
    pub fn new(engine: &Engine, module: &Module) -> Result<Oracle, Outcome> {
        let mut store = Store::new(engine, ());
        store.set_fuel(ORACLE_FUEL).expect("fuel is enabled");
        let linker = <Linker<()>>::new(engine);
        match linker.instantiate_and_start(&mut store, module) {
            Ok(instance) => Ok(Oracle { store, instance }),
            Err(e) => Err(outcome_of_error(&e)),
        }
    }

    pub fn call(&mut self, name: &str, args: &[Value]) -> Outcome {
        let Some(f) = self.instance.get_func(&self.store, name) else {
            return Outcome::Error(format!("no exported function `{name}`"));
        };
        let args: Vec<Val> = args.iter().map(|a| to_val(&mut self.store, a)).collect();
        let ty = f.ty(&self.store);
        let mut results: Vec<Val> = ty
            .results()
            .iter()
            .map(|t| Val::default_for_ty(*t))
            .collect();
        self.store.set_fuel(ORACLE_FUEL).expect("fuel is enabled");
        match f.call(&mut self.store, &args, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(|v| from_val(&self.store, v)).collect()),
            Err(e) => outcome_of_error(&e),
        }
    }

    pub fn state(&self) -> State {
        let mut s = State::default();
        for export in self.instance.exports(&self.store) {
            let name = export.name().to_string();
            match export.into_extern() {
                Extern::Global(g) => s
                    .globals
                    .push((name, from_val(&self.store, &g.get(&self.store)))),
                Extern::Memory(m) => s.memories.push((name, m.data(&self.store).to_vec())),
                Extern::Table(t) => {
                    let nulls = (0..t.size(&self.store))
                        .map(|i| t.get(&self.store, i).is_none_or(|r| r.is_null()))
                        .collect();
                    s.tables.push((name, nulls));
                }
                Extern::Func(_) => {}
            }
        }
        s.sorted()
    }
}
