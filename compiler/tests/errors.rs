//! Invalid input is reported as `CompileError::Invalid`, never a panic,
//! with the function index and byte offset where it applies.

mod common;
use common::*;
use faasm_compiler::CompileError;

fn invalid(wasm: &[u8]) -> (String, u64, Option<u32>) {
    match compile(wasm) {
        Err(CompileError::Invalid {
            message,
            offset,
            func,
        }) => (message, offset, func),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn garbage_is_invalid() {
    let (message, offset, func) = invalid(b"this is not wasm at all");
    assert!(message.contains("magic"), "{message}");
    assert_eq!((offset, func), (0, None));
    invalid(b"");
    invalid(&[0xff; 3]);
}

#[test]
fn every_truncation_is_invalid() {
    let wasm = wat(r#"
        (module
          (import "env" "f" (func (param i32)))
          (memory 1)
          (global (mut i32) (i32.const 7))
          (func (export "g") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
          (data (i32.const 0) "abc"))
    "#);
    // A prefix that ends between sections is a smaller module, valid until
    // the function section declares functions whose code never comes, and
    // again once the code is complete; a prefix that ends anywhere else is
    // malformed.
    let boundaries: Vec<usize> = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .filter_map(|p| p.unwrap().as_section().map(|(_, r)| r.end as usize))
        .collect();
    let mut valid = 0;
    for len in 0..wasm.len() {
        match compile(&wasm[..len]) {
            Err(CompileError::Invalid { offset, .. }) => {
                assert!(offset <= len as u64, "offset {offset} past the end ({len})")
            }
            Ok(_) if len == 8 || boundaries.contains(&len) => valid += 1,
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
    // The header alone, and cuts after the type, import and code sections.
    assert_eq!(valid, 4);
}

#[test]
fn invalid_body_names_the_function() {
    let wasm = wat(r#"
        (module
          (import "env" "f" (func))
          (func)
          (func (result i32) i64.const 0))
    "#);
    let (message, offset, func) = invalid(&wasm);
    assert_eq!(func, Some(2), "imported functions count in the index space");
    assert!(message.contains("type mismatch"), "{message}");
    assert!(offset > 0 && (offset as usize) < wasm.len());
    let text = compile(&wasm).unwrap_err().to_string();
    assert!(
        text.contains("in function 2") && text.contains("offset"),
        "{text}"
    );
}

#[test]
fn first_invalid_function_wins_whatever_the_schedule() {
    let mut text = String::from("(module");
    for i in 0..40 {
        if i % 7 == 5 {
            text.push_str(" (func (result i32) f32.const 0)");
        } else {
            text.push_str(" (func (result i32) i32.const 1)");
        }
    }
    text.push(')');
    let wasm = wat(&text);
    for _ in 0..5 {
        assert_eq!(invalid(&wasm).2, Some(5));
    }
    let sequential = faasm_compiler::CompileConfig {
        parallel: false,
        ..Default::default()
    };
    match faasm_compiler::compile(&wasm, &sequential) {
        Err(CompileError::Invalid { func, .. }) => assert_eq!(func, Some(5)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn module_level_errors_have_no_function() {
    // A data segment for a memory that does not exist.
    let (_, offset, func) = invalid(&wat(r#"(module (data (i32.const 0) "x"))"#));
    assert_eq!(func, None);
    assert!(offset > 8);
    // Function and code section counts disagree: the code section is cut
    // off entirely, which only the end-of-module check can notice.
    let wasm = wat("(module (func))");
    let code_start = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .find_map(|p| match p.unwrap() {
            wasmparser::Payload::CodeSectionStart {
                unchecked_range: r, ..
            } => Some(r.start as usize),
            _ => None,
        })
        .unwrap();
    // The content starts after the id byte and a one-byte size.
    let (message, _, func) = invalid(&wasm[..code_start - 2]);
    assert_eq!(func, None);
    assert!(message.contains("code section is absent"), "{message}");
}

#[test]
fn unknown_opt_level_is_unsupported() {
    let config = faasm_compiler::CompileConfig {
        opt_level: "ludicrous",
        ..Default::default()
    };
    let err = faasm_compiler::compile(&wat("(module)"), &config).unwrap_err();
    assert!(matches!(err, CompileError::Unsupported(_)), "{err}");
}

/// A compile past `CompileConfig::time_limit` fails with its own error,
/// sequentially and in parallel; the default limit leaves modules alone.
#[test]
fn compilation_past_the_time_limit_fails() {
    let funcs: String = (0..200)
        .map(|i| format!("(func (export \"f{i}\") (result i32) i32.const {i})"))
        .collect();
    let wasm = wat(&format!("(module {funcs})"));
    for parallel in [false, true] {
        let config = faasm_compiler::CompileConfig {
            parallel,
            time_limit: Some(std::time::Duration::ZERO),
            ..Default::default()
        };
        assert!(matches!(
            faasm_compiler::compile(&wasm, &config),
            Err(faasm_compiler::CompileError::TimeLimit { .. })
        ));
    }
    assert!(faasm_compiler::compile(&wasm, &faasm_compiler::CompileConfig::default()).is_ok());
}
