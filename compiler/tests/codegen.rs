//! Modules with function bodies: code generation, linking and trap sites.
//! These need the function translator.

mod common;
use common::*;
use faasm_abi::TrapKind;

#[test]
fn add_function_compiles() {
    let a = compile_wat(
        r#"(module (func (export "add") (param i32 i32) (result i32)
                     local.get 0 local.get 1 i32.add))"#,
    );
    assert_eq!(a.funcs.len(), 1);
    assert_eq!(a.funcs[0].offset, 0);
    assert!(a.funcs[0].len > 0);
    assert_eq!(a.entry_trampolines.len(), 1);
    assert!(a.host_trampolines.is_empty());
}

#[test]
fn unreachable_has_one_trap_site() {
    let a = compile_wat(r#"(module (func (export "t") unreachable))"#);
    let f = a.funcs[0];
    let unreachable: Vec<_> = a
        .traps
        .iter()
        .filter(|t| t.kind == TrapKind::Unreachable)
        .collect();
    assert_eq!(unreachable.len(), 1, "{:?}", a.traps);
    let site = unreachable[0].offset;
    assert!(site >= f.offset && site < f.offset + f.len);
    assert_eq!(a.trap_at(site), Some(TrapKind::Unreachable));
    assert_eq!(a.defined_func_at(site), Some(0));
}

#[test]
fn parallel_and_sequential_output_are_identical() {
    let mut text = String::from("(module");
    for i in 0..50 {
        text.push_str(&format!(
            " (func (param i32) (result i32) local.get 0 i32.const {i} i32.mul {})",
            if i > 0 {
                format!("call {}", i - 1)
            } else {
                String::new()
            }
        ));
    }
    text.push(')');
    let wasm = wat(&text);
    let par = compile(&wasm).unwrap();
    let seq = faasm_compiler::compile(
        &wasm,
        &faasm_compiler::CompileConfig {
            parallel: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(par, seq);
    assert!(
        par.funcs
            .windows(2)
            .all(|w| w[0].offset + w[0].len <= w[1].offset)
    );
    assert!(par.funcs.iter().all(|f| f.offset % 16 == 0));
}

#[test]
fn every_opt_level_compiles() {
    let wasm = wat(
        r#"(module (func (param f64) (result f64) local.get 0 f64.ceil local.get 0 f64.nearest f64.add))"#,
    );
    for opt_level in ["none", "speed", "speed_and_size"] {
        let config = faasm_compiler::CompileConfig {
            opt_level,
            ..Default::default()
        };
        // SSE4.1 keeps ceil/nearest inline: a libcall would fail to link.
        faasm_compiler::compile(&wasm, &config).unwrap_or_else(|e| panic!("{opt_level}: {e}"));
    }
}
