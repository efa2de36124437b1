//! The engine under test: faasmc + the faasm runtime.

use crate::value::{Outcome, State, TrapClass, Value};
use crate::watchdog::Watchdog;
use faasm_abi::{MemoryStrategy, ValType};
use faasm_runtime::{
    Config, Engine, Error, Extern, ExternRef, Features, Func, Instance, Linker, Module, TrapReason,
    Val,
};
use std::time::Duration;

/// The proposals we claim and generate: everything but threads.
pub const FEATURES: Features = Features {
    threads: false,
    ..Features::ALL
};

pub fn engine(strategy: MemoryStrategy) -> Engine {
    Engine::new(Config {
        memory_strategy: strategy,
        parallel_compilation: false,
        features: FEATURES,
        // Room for the recursion the modules' fuel allows (the driver runs
        // cases on a 256 MiB thread stack).
        max_wasm_stack: 32 << 20,
        ..Config::default()
    })
}

pub fn to_val(v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(x) => Val::F32(x),
        Value::F64(x) => Val::F64(x),
        Value::V128(x) => Val::V128(x),
        // Only null function references are generated.
        Value::FuncRef(_) => Val::FuncRef(None),
        Value::ExternRef(r) => Val::ExternRef(r.map(ExternRef)),
    }
}

pub fn from_val(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(*x),
        Val::F64(x) => Value::F64(*x),
        Val::V128(x) => Value::V128(*x),
        Val::FuncRef(f) => Value::FuncRef(f.as_ref().map(|f| f.ty().to_string())),
        Val::ExternRef(r) => Value::ExternRef(r.map(|r| r.0)),
    }
}

/// An outcome from a faasm error.
pub fn outcome_of_error(e: &Error) -> Outcome {
    match e {
        Error::Trap(t) => match &t.reason {
            TrapReason::Wasm(faasm_abi::TrapKind::Interrupt) => Outcome::Inconclusive("timeout"),
            TrapReason::Wasm(k) => Outcome::Trapped(TrapClass::from_faasm(*k)),
            TrapReason::Host(h) => Outcome::Error(format!("host: {h}")),
            TrapReason::Exit(s) => Outcome::Error(format!("exit {s}")),
        },
        Error::Resource(m) => Outcome::Error(format!("resource: {m}")),
        other => Outcome::Error(other.to_string()),
    }
}

pub struct FaasmInstance {
    pub instance: Instance,
    exports: Vec<(String, Extern)>,
}

impl FaasmInstance {
    pub fn new(module: &Module) -> Result<FaasmInstance, Error> {
        let linker = Linker::new(module.engine());
        let instance = linker.instantiate(module)?;
        let exports = instance.exports();
        Ok(FaasmInstance { instance, exports })
    }

    /// Exported functions with their parameter types, in export order.
    pub fn funcs(&self) -> Vec<(String, Vec<ValType>)> {
        self.exports
            .iter()
            .filter_map(|(n, e)| match e {
                Extern::Func(f) => Some((n.clone(), f.ty().params.clone())),
                _ => None,
            })
            .collect()
    }

    fn func(&self, name: &str) -> Option<&Func> {
        self.exports.iter().find_map(|(n, e)| match e {
            Extern::Func(f) if n == name => Some(f),
            _ => None,
        })
    }

    /// Calls export `name`, interrupted after `timeout`.
    pub fn call(&self, dog: &Watchdog, timeout: Duration, name: &str, args: &[Value]) -> Outcome {
        let Some(f) = self.func(name) else {
            return Outcome::Error(format!("no exported function `{name}`"));
        };
        let args: Vec<Val> = args.iter().map(to_val).collect();
        let handle = self.instance.interrupt_handle();
        let (r, fired) = dog.run(&handle, timeout, || f.call(&args));
        match r {
            Ok(vals) => Outcome::Returned(vals.iter().map(from_val).collect()),
            Err(_) if fired => Outcome::Inconclusive("timeout"),
            Err(e) => outcome_of_error(&e),
        }
    }

    /// Exported globals, memories and tables.
    pub fn state(&self) -> State {
        let mut s = State::default();
        for (n, e) in &self.exports {
            match e {
                Extern::Global(g) => s.globals.push((n.clone(), from_val(&g.get()))),
                Extern::Memory(m) => {
                    let mut buf = vec![0u8; m.data_size()];
                    m.read(0, &mut buf).expect("whole memory is readable");
                    s.memories.push((n.clone(), buf));
                }
                Extern::Table(t) => {
                    let nulls = (0..t.size())
                        .map(|i| match t.get(i) {
                            Some(Val::FuncRef(f)) => f.is_none(),
                            Some(Val::ExternRef(r)) => r.is_none(),
                            _ => true,
                        })
                        .collect();
                    s.tables.push((n.clone(), nulls));
                }
                Extern::Func(_) => {}
            }
        }
        s.sorted()
    }
}
