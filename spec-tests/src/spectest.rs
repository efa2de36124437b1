//! The `spectest` host module every spec test may import from.

use faasm_runtime::{
    Error, FuncType, Global, GlobalType, Linker, Memory, MemoryType, Table, TableType, Val, ValType,
};

/// Defines `spectest.*` in `linker`: silent print functions, immutable
/// globals holding 666 / 666.6, a funcref table 10..20, a memory 1..2 and
/// (when the runtime can make one) a shared memory 1..1.
pub fn define_spectest(linker: &mut Linker) -> Result<(), Error> {
    use ValType::*;
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        // The output of the spec tests' prints is not checked; printing it
        // would only bury the report.
        linker.func_new(
            "spectest",
            name,
            FuncType::new(params.to_vec(), vec![]),
            |_, _, _| Ok(()),
        );
    }
    let globals = [
        ("global_i32", I32, Val::I32(666)),
        ("global_i64", I64, Val::I64(666)),
        ("global_f32", F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, val) in globals {
        let g = Global::new(GlobalType { ty, mutable: false }, val)?;
        linker.define("spectest", name, g);
    }
    let table = Table::new(
        TableType {
            elem: FuncRef,
            min: 10,
            max: Some(20),
        },
        Val::FuncRef(None),
    )?;
    linker.define("spectest", "table", table);
    let memory = Memory::new(MemoryType {
        min: 1,
        max: Some(2),
        shared: false,
        memory64: false,
    })?;
    linker.define("spectest", "memory", memory);
    // The threads proposal's tests import a shared memory. Best effort: a
    // runtime without shared memories simply leaves it undefined, and the
    // modules that import it fail to link (visibly).
    if let Ok(shared) = Memory::new(MemoryType {
        min: 1,
        max: Some(1),
        shared: true,
        memory64: false,
    }) {
        linker.define("spectest", "shared_memory", shared);
    }
    Ok(())
}
