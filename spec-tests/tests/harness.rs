//! The harness itself: it must be able to fail (so a green spec run means
//! something), count every directive, and stop a hung call.

use faasm_spec_tests::{Options, run_wast};

/// Counts of a snippet run through the harness.
fn run(src: &str) -> faasm_spec_tests::FileReport {
    run_wast("snippet.wast", src, &Options::default())
}

#[test]
fn harness_counts_wrong_expectations_as_failures() {
    let r = run(r#"
        (module (func (export "one") (result i32) i32.const 1))
        (assert_return (invoke "one") (i32.const 2))
        (assert_return (invoke "one") (f32.const 1))
        (assert_return (invoke "one"))
        (assert_return (invoke "missing") (i32.const 1))
        (assert_trap (invoke "one") "unreachable")
        (assert_invalid (module (func (result i32) i64.const 0)) "type mismatch")
    "#);
    // `one` returns fine, so none of the wrong expectations may pass, and
    // the valid module asserted invalid... is invalid: that one passes.
    assert_eq!(r.counts.failed, 5, "{r:#?}");
    assert_eq!(r.counts.passed, 2, "{r:#?}");
    assert_eq!(r.counts.skipped, 0, "{r:#?}");
}

#[test]
fn harness_rejects_valid_module_asserted_invalid() {
    let r = run(r#"
        (assert_invalid (module (func (result i32) i32.const 0)) "type mismatch")
        (assert_malformed (module quote "(func (result i32) i32.const 0)") "unexpected token")
    "#);
    assert_eq!(r.counts.failed, 2, "{r:#?}");
}

#[test]
fn harness_checks_trap_messages() {
    let r = run(r#"
        (module (func (export "trap") unreachable)
                (func (export "div") (result i32) (i32.div_u (i32.const 1) (i32.const 0))))
        (assert_trap (invoke "trap") "integer overflow")
        (assert_trap (invoke "div") "out of bounds memory access")
        (assert_exhaustion (invoke "trap") "call stack exhausted")
    "#);
    assert_eq!(r.counts.failed, 3, "{r:#?}");
}

#[test]
fn unsupported_directives_are_skipped_with_reasons() {
    let r = run(r#"
        (module (func (export "f")))
        (assert_exception (invoke "f"))
        (thread $T (invoke "f"))
        (wait $T)
    "#);
    // thread + its nested invoke + wait + assert_exception
    assert_eq!(r.counts.skipped, 4, "{r:#?}");
    assert!(r.skips.iter().all(|s| !s.reason.is_empty()));
}

#[test]
fn unparseable_file_is_a_failure() {
    let r = run("(module (func (export \"f\")) (assert_return");
    assert_eq!(r.counts.failed, 1, "{r:#?}");
    assert_eq!(r.failures[0].directive, "parse");
}

#[test]
fn hung_call_is_interrupted_and_failed() {
    let opts = Options {
        invoke_timeout: Some(std::time::Duration::from_millis(500)),
        ..Options::default()
    };
    let r = run_wast(
        "spin.wast",
        r#"
        (module (func (export "spin") (loop (br 0)))
                (func (export "ok") (result i32) (i32.const 1)))
        (invoke "spin")
        (assert_return (invoke "ok") (i32.const 1))
        "#,
        &opts,
    );
    assert_eq!(r.counts.failed, 1, "{r:#?}");
    assert!(r.failures[0].got.contains("timed out"), "{r:#?}");
    // The instance stays usable after the interrupted call.
    assert_eq!(r.counts.passed, 2, "{r:#?}");
}

#[test]
fn correct_expectations_pass() {
    let r = run(r#"
        (module $m
          (global (export "g") i32 (i32.const 42))
          (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
          (func (export "rec") (call 1))
          (func (export "trap") unreachable))
        (register "m" $m)
        (module (import "m" "g" (global i32)) (import "spectest" "print_i32" (func (param i32))))
        (assert_return (get $m "g") (i32.const 42))
        (assert_return (invoke $m "nan") (f32.const nan:canonical))
        (assert_exhaustion (invoke $m "rec") "call stack exhausted")
        (assert_trap (invoke $m "trap") "unreachable")
        (assert_unlinkable (module (import "m" "nope" (func))) "unknown import")
        (assert_trap (module (func $s unreachable) (start $s)) "unreachable")
    "#);
    assert_eq!(r.counts.failed, 0, "{r:#?}");
    assert_eq!(r.counts.passed, 9, "{r:#?}");
}
