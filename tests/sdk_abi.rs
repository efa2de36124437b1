//! The guest SDKs (sdk/c/faasm.h, sdk/rust) against the Faasm guest ABI,
//! without running anything: every `env` import of every SDK-built guest
//! must be an ABI function with the ABI's exact wasm type, the two
//! "all imports" programs must import the whole ABI, and each example must
//! import what it uses and export what the host needs. The guests come from
//! examples/build.sh (see `common::examples`).

mod common;

use common::{examples, faasm_run};
use std::collections::BTreeMap;
use std::path::Path;
use wasmparser::{ElementItems, ExternalKind, Parser, Payload, TypeRef, ValType};

const I32: ValType = ValType::I32;

/// The ABI: name, parameters, results (all i32 on wasm32). Written out here
/// independently of both SDKs and of the host, so a drift in any of them
/// shows up as a mismatch.
const ABI: &[(&str, &[ValType], &[ValType])] = &[
    ("__faasm_read_input", &[I32, I32], &[I32]),
    ("__faasm_write_output", &[I32, I32], &[]),
    ("__faasm_chain_name", &[I32, I32, I32], &[I32]),
    ("__faasm_chain_ptr", &[I32, I32, I32], &[I32]),
    ("__faasm_await_call", &[I32], &[I32]),
    ("__faasm_await_call_output", &[I32, I32, I32], &[I32]),
    ("__faasm_await_call_output_buffer", &[I32, I32, I32], &[I32]),
    ("__faasm_get_call_output_size", &[I32], &[I32]),
    ("__faasm_read_state", &[I32, I32, I32], &[I32]),
    ("__faasm_read_state_offset", &[I32, I32, I32, I32, I32], &[]),
    ("__faasm_write_state", &[I32, I32, I32], &[]),
    (
        "__faasm_write_state_offset",
        &[I32, I32, I32, I32, I32],
        &[],
    ),
    ("__faasm_read_state_ptr", &[I32, I32], &[I32]),
    (
        "__faasm_read_state_offset_ptr",
        &[I32, I32, I32, I32],
        &[I32],
    ),
    ("__faasm_flag_state_dirty", &[I32, I32], &[]),
    (
        "__faasm_flag_state_offset_dirty",
        &[I32, I32, I32, I32],
        &[],
    ),
    ("__faasm_push_state", &[I32], &[]),
    ("__faasm_push_state_partial", &[I32], &[]),
    ("__faasm_push_state_partial_mask", &[I32, I32], &[]),
    ("__faasm_write_state_from_file", &[I32, I32], &[I32]),
    ("__faasm_pull_state", &[I32, I32], &[]),
    ("__faasm_append_state", &[I32, I32, I32], &[]),
    ("__faasm_read_appended_state", &[I32, I32, I32, I32], &[]),
    ("__faasm_clear_appended_state", &[I32], &[]),
    ("__faasm_lock_state_read", &[I32], &[]),
    ("__faasm_unlock_state_read", &[I32], &[]),
    ("__faasm_lock_state_write", &[I32], &[]),
    ("__faasm_unlock_state_write", &[I32], &[]),
    ("__faasm_lock_state_global_read", &[I32], &[]),
    ("__faasm_unlock_state_global_read", &[I32], &[]),
    ("__faasm_lock_state_global_write", &[I32], &[]),
    ("__faasm_unlock_state_global_write", &[I32], &[]),
    ("__faasm_conf_flag", &[I32], &[I32]),
    ("__faasm_backtrace", &[I32], &[]),
];

/// Every guest built with an SDK, and the ABI functions each must import
/// (at least: the compilers may pull in more of what the SDK offers).
const GUESTS: &[(&str, &[&str])] = &[
    ("echo-c", &["read_input", "write_output"]),
    ("echo-rust", &["read_input", "write_output"]),
    ("counter-c", COUNTER),
    ("counter-rust", COUNTER),
    ("pi-c", PI),
    ("pi-rust", PI),
    (
        "pi_ptr-c",
        &[
            "read_input",
            "write_output",
            "chain_ptr",
            "await_call_output_buffer",
        ],
    ),
    ("sdk-all-imports-c", &[]),
    ("sdk-all-imports-rust", &[]),
    ("sdk-entry-points-c", &[]),
];
const COUNTER: &[&str] = &[
    "lock_state_write",
    "read_state_ptr",
    "pull_state",
    "push_state",
    "unlock_state_write",
    "write_output",
];
const PI: &[&str] = &[
    "read_input",
    "write_output",
    "chain_name",
    "get_call_output_size",
    "await_call_output_buffer",
];

/// What the checks need from a module.
struct Module {
    /// Function imports: (module, name) -> (params, results).
    funcs: BTreeMap<(String, String), (Vec<ValType>, Vec<ValType>)>,
    /// Imports that are not functions, as "module.name".
    other_imports: Vec<String>,
    /// Exported functions: name -> function index.
    exports: BTreeMap<String, u32>,
    /// Function indices placed in table 0 by active element segments.
    table0: Vec<u32>,
}

fn parse(path: &Path) -> Module {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut types = Vec::new();
    let mut module = Module {
        funcs: BTreeMap::new(),
        other_imports: Vec::new(),
        exports: BTreeMap::new(),
        table0: Vec::new(),
    };
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.expect("a valid module") {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty.expect("a function type");
                    types.push((ty.params().to_vec(), ty.results().to_vec()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.expect("an import");
                    let key = (import.module.to_string(), import.name.to_string());
                    match import.ty {
                        TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                            module.funcs.insert(key, types[ty as usize].clone());
                        }
                        _ => module
                            .other_imports
                            .push(format!("{}.{}", import.module, import.name)),
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.expect("an export");
                    if export.kind == ExternalKind::Func {
                        module.exports.insert(export.name.to_string(), export.index);
                    }
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    let element = element.expect("an element segment");
                    let active_in_table0 = matches!(
                        element.kind,
                        wasmparser::ElementKind::Active { table_index, .. }
                            if table_index.unwrap_or(0) == 0
                    );
                    if let (true, ElementItems::Functions(funcs)) =
                        (active_in_table0, element.items)
                    {
                        module
                            .table0
                            .extend(funcs.into_iter().map(|f| f.expect("a function index")));
                    }
                }
            }
            _ => {}
        }
    }
    module
}

fn abi() -> BTreeMap<&'static str, (Vec<ValType>, Vec<ValType>)> {
    ABI.iter()
        .map(|(name, params, results)| (*name, (params.to_vec(), results.to_vec())))
        .collect()
}

#[test]
fn every_env_import_is_an_abi_function_with_its_exact_type() {
    let dir = examples();
    let abi = abi();
    for (guest, _) in GUESTS {
        let module = parse(&dir.join(format!("{guest}.wasm")));
        assert!(
            module.other_imports.is_empty(),
            "{guest}: non-function imports {:?}",
            module.other_imports
        );
        for ((from, name), ty) in &module.funcs {
            match from.as_str() {
                "env" => {
                    let want = abi.get(name.as_str()).unwrap_or_else(|| {
                        panic!("{guest} imports env.{name}, which is not in the ABI")
                    });
                    assert_eq!(ty, want, "{guest}: env.{name} has the wrong type");
                }
                "wasi_snapshot_preview1" => {}
                other => panic!("{guest} imports {other}.{name}: unknown module"),
            }
        }
    }
}

#[test]
fn the_all_imports_programs_import_the_whole_abi() {
    let dir = examples();
    let want: Vec<&str> = abi().into_keys().collect();
    for guest in ["sdk-all-imports-c", "sdk-all-imports-rust"] {
        let module = parse(&dir.join(format!("{guest}.wasm")));
        let got: Vec<&str> = module
            .funcs
            .keys()
            .filter(|(from, _)| from == "env")
            .map(|(_, name)| name.as_str())
            .collect();
        assert_eq!(got, want, "{guest} does not import exactly the ABI");
    }
}

#[test]
fn examples_import_what_they_use() {
    let dir = examples();
    for (guest, needed) in GUESTS {
        let module = parse(&dir.join(format!("{guest}.wasm")));
        for name in *needed {
            let key = ("env".to_string(), format!("__faasm_{name}"));
            assert!(
                module.funcs.contains_key(&key),
                "{guest} does not import env.__faasm_{name}"
            );
        }
        assert!(
            module.exports.contains_key("_start"),
            "{guest} is not a WASI command"
        );
    }
}

/// What chaining by pointer needs from a C module: the chained function in
/// table 0, where the host looks its index up.
#[test]
fn c_functions_chained_by_pointer_are_in_the_table() {
    let dir = examples();
    let module = parse(&dir.join("pi_ptr-c.wasm"));
    // FAASM_FUNC(pi_worker, 1) exports the worker as faasm_func_1.
    let worker = module.exports["faasm_func_1"];
    assert!(
        module.table0.contains(&worker),
        "pi_worker (function {worker}) is not in table 0: {:?}",
        module.table0
    );
}

/// The C entry-point macros (sdk/c/tests/entry_points.c), run with plain
/// `faasm-run FILE`: FAASM_ZYGOTE runs once before FAASM_MAIN's function and
/// before a FAASM_FUNC entered directly (as the host enters a function
/// chained by pointer), and a failing zygote ends the call with its code.
#[test]
fn c_zygote_runs_before_every_entry_point() {
    let dir = examples();
    let wasm = dir.join("sdk-entry-points-c.wasm");
    let f = wasm.to_str().unwrap();
    faasm_run([f]).assert_ok(3, "main sees 42\n");
    faasm_run(["--invoke", "faasm_func_7", f]).assert_ok(0, "42\n");
    let failed = faasm_run(["--env", "ZYGOTE_FAIL=1", f]);
    failed.assert_ok(7, "");
}
