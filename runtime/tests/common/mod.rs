//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use faasm_runtime::{Engine, Error, Instance, Linker, Module, Trap, Val};

pub use faasm_testutil::wat;

pub fn module(engine: &Engine, src: &str) -> Module {
    Module::new(engine, &wat(src)).expect("compile")
}

pub fn instantiate(src: &str) -> Instance {
    let engine = Engine::default();
    Linker::new(&engine)
        .instantiate(&module(&engine, src))
        .expect("instantiate")
}

pub fn call(inst: &Instance, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
    inst.get_func(name)
        .unwrap_or_else(|| panic!("no export {name}"))
        .call(args)
}

pub fn call_i32(inst: &Instance, name: &str, args: &[Val]) -> i32 {
    match call(inst, name, args).unwrap()[..] {
        [Val::I32(v)] => v,
        ref r => panic!("unexpected results {r:?}"),
    }
}

pub fn trap(r: Result<Vec<Val>, Error>) -> Trap {
    match r {
        Err(Error::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    }
}
