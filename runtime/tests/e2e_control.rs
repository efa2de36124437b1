//! End-to-end: stack exhaustion, interrupts, host calls, faults in host code.

mod common;
use common::*;
use faasm_runtime::{
    Caller, Engine, Error, FuncType, Linker, Trap, TrapKind, TrapReason, Val, ValType,
};
use std::time::{Duration, Instant};

const RECURSE: &str = r#"(module
  (func $r (export "recurse") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $r)
  (func $big (export "recurse_big") (param i64) (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64)
    local.get 0 i64.const 1 i64.add call $big local.get 1 i64.add)
  (func (export "ok") (result i32) i32.const 42))"#;

#[test]
fn deep_recursion_is_a_stack_overflow_trap() {
    let inst = instantiate(RECURSE);
    for _ in 0..3 {
        let t = trap(call(&inst, "recurse", &[Val::I32(0)]));
        assert_eq!(t.kind(), Some(TrapKind::StackOverflow));
        let t = trap(call(&inst, "recurse_big", &[Val::I64(0)]));
        assert_eq!(t.kind(), Some(TrapKind::StackOverflow));
        assert_eq!(call_i32(&inst, "ok", &[]), 42);
    }
}

#[test]
fn deep_recursion_on_small_thread_stacks() {
    // 256 KiB threads: the limit is clamped to keep a host margin.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(|| {
                    let inst = instantiate(RECURSE);
                    let t = trap(call(&inst, "recurse", &[Val::I32(0)]));
                    assert_eq!(t.kind(), Some(TrapKind::StackOverflow));
                    call_i32(&inst, "ok", &[])
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 42);
    }
}

#[test]
fn interrupt_stops_an_infinite_loop() {
    let inst = instantiate(
        r#"(module (func (export "spin") (loop br 0)) (func (export "ok") (result i32) i32.const 1))"#,
    );
    let h = inst.interrupt_handle();
    let start = Instant::now();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        h.interrupt();
    });
    let tr = trap(call(&inst, "spin", &[]));
    assert_eq!(tr.kind(), Some(TrapKind::Interrupt));
    assert!(start.elapsed() >= Duration::from_millis(100));
    t.join().unwrap();
    inst.interrupt_handle().clear();
    assert_eq!(call_i32(&inst, "ok", &[]), 1);
}

#[test]
fn host_functions_read_and_write_guest_memory() {
    let engine = Engine::default();
    let m = module(
        &engine,
        r#"(module
          (import "env" "sum" (func $sum (param i32 i32) (result i32)))
          (import "env" "exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "\01\02\03\04")
          (func (export "run") (result i32)
            i32.const 16 i32.const 4 call $sum
            i32.const 100 i32.load8_u i32.add)
          (func (export "quit") i32.const 7 call $exit unreachable))"#,
    );
    let mut linker = Linker::new(&engine);
    linker.func_new(
        "env",
        "sum",
        FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
        |caller: &mut Caller<'_>, args, results| {
            let (Val::I32(ptr), Val::I32(len)) = (&args[0], &args[1]) else {
                unreachable!()
            };
            let mem = caller.memory_mut().ok_or_else(|| Trap::host("no memory"))?;
            let bytes = mem
                .get(*ptr as usize..(*ptr + *len) as usize)
                .ok_or_else(|| Trap::host("out of bounds"))?;
            let s: i32 = bytes.iter().map(|b| *b as i32).sum();
            mem[100] = 100;
            results[0] = Val::I32(s);
            Ok(())
        },
    );
    linker.func_new(
        "env",
        "exit",
        FuncType::new([ValType::I32], []),
        |_, args, _| {
            let Val::I32(code) = args[0] else {
                unreachable!()
            };
            Err(Trap::exit(code))
        },
    );
    let inst = linker.instantiate(&m).unwrap();
    assert_eq!(call_i32(&inst, "run", &[]), 110);
    let t = trap(call(&inst, "quit", &[]));
    assert_eq!(t.reason, TrapReason::Exit(7));
}

#[test]
fn multi_value_v128_and_externref_cross_the_boundary() {
    let inst = instantiate(
        r#"(module
          (func (export "swap") (param i64 f64) (result f64 i64) local.get 1 local.get 0)
          (func (export "vadd") (param v128 v128) (result v128) local.get 0 local.get 1 i32x4.add)
          (func (export "id") (param externref) (result externref) local.get 0)
          (func (export "f32") (param f32) (result f32) local.get 0))"#,
    );
    let r = call(&inst, "swap", &[Val::I64(-5), Val::F64(1.5f64.to_bits())]).unwrap();
    assert!(matches!(r[..], [Val::F64(b), Val::I64(-5)] if b == 1.5f64.to_bits()));
    let a = u128::from_le_bytes([1; 16]);
    let r = call(&inst, "vadd", &[Val::V128(a), Val::V128(a)]).unwrap();
    assert!(matches!(r[..], [Val::V128(v)] if v == u128::from_le_bytes([2; 16])));
    let r = call(
        &inst,
        "id",
        &[Val::ExternRef(Some(faasm_runtime::ExternRef(9)))],
    )
    .unwrap();
    assert!(matches!(
        r[..],
        [Val::ExternRef(Some(faasm_runtime::ExternRef(9)))]
    ));
    let r = call(&inst, "id", &[Val::ExternRef(None)]).unwrap();
    assert!(matches!(r[..], [Val::ExternRef(None)]));
    // A signalling NaN payload survives.
    let r = call(&inst, "f32", &[Val::F32(0x7fa0_0001)]).unwrap();
    assert!(matches!(r[..], [Val::F32(0x7fa0_0001)]));
    assert!(matches!(
        call(&inst, "swap", &[Val::I32(1), Val::F64(0)]),
        Err(Error::Usage(_))
    ));
}

#[test]
fn start_function_trap_fails_instantiation() {
    let engine = Engine::default();
    let m = module(&engine, r#"(module (func $s unreachable) (start $s))"#);
    match Linker::new(&engine).instantiate(&m) {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), Some(TrapKind::Unreachable)),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn trap_names_the_function() {
    let inst =
        instantiate(r#"(module (func $inner unreachable) (func (export "outer") call $inner))"#);
    let t = trap(call(&inst, "outer", &[]));
    assert_eq!(t.func_index, Some(0));
    assert_eq!(t.func_name.as_deref(), Some("inner"));
    assert!(t.to_string().contains("inner"), "{t}");
}

fn names(bt: &faasm_runtime::Backtrace) -> Vec<String> {
    bt.frames
        .iter()
        .map(|f| {
            f.func_name
                .clone()
                .unwrap_or_else(|| format!("#{}", f.func_index))
        })
        .collect()
}

const NESTED: &str = r#"(module
  (import "env" "fail" (func $fail))
  (import "env" "where" (func $where))
  (func $inner (param i32) (result i32)
    local.get 0 i32.eqz if unreachable end
    local.get 0 i32.const 1 i32.eq if call $fail end
    call $where
    i32.const 7)
  (func $middle (param i32) (result i32) local.get 0 call $inner i32.const 1 i32.add)
  (func (export "outer") (param i32) (result i32) local.get 0 call $middle))"#;

/// A linker whose `fail` returns a host error and whose `where` records
/// the backtrace it sees from the host.
fn nested_instance() -> (
    faasm_runtime::Instance,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let engine = Engine::default();
    let m = module(&engine, NESTED);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut linker = Linker::new(&engine);
    linker.func_new("env", "fail", FuncType::new([], []), |_, _, _| {
        Err(Trap::host("refused"))
    });
    let record = seen.clone();
    linker.func_new(
        "env",
        "where",
        FuncType::new([], []),
        move |caller, _, _| {
            *record.lock().unwrap() = names(&caller.wasm_backtrace());
            Ok(())
        },
    );
    (linker.instantiate(&m).unwrap(), seen)
}

#[test]
fn a_wasm_trap_carries_the_backtrace_of_named_functions() {
    let (inst, _) = nested_instance();
    let t = trap(call(&inst, "outer", &[Val::I32(0)]));
    assert_eq!(t.kind(), Some(TrapKind::Unreachable));
    assert_eq!(names(&t.backtrace), ["inner", "middle", "#4"]);
    assert!(!t.backtrace.truncated);
    // The plain form stays on one line; the alternate one lists frames.
    let one_line = t.to_string();
    assert!(!one_line.contains('\n'), "{one_line}");
    let full = format!("{t:#}");
    assert!(full.contains("wasm backtrace:"), "{full}");
    assert!(full.contains("0: `inner` (function 2)"), "{full}");
    assert!(full.contains("1: `middle` (function 3)"), "{full}");
    assert!(full.contains("2: function 4"), "{full}");
}

#[test]
fn a_host_error_is_placed_in_the_wasm_function_that_called_the_host() {
    let (inst, _) = nested_instance();
    let t = trap(call(&inst, "outer", &[Val::I32(1)]));
    assert!(t.to_string().contains("refused"), "{t}");
    assert_eq!(t.func_name.as_deref(), Some("inner"));
    assert_eq!(names(&t.backtrace), ["inner", "middle", "#4"]);
}

#[test]
fn a_host_function_sees_the_wasm_frames_that_called_it() {
    let (inst, seen) = nested_instance();
    assert_eq!(call_i32(&inst, "outer", &[Val::I32(2)]), 8);
    assert_eq!(*seen.lock().unwrap(), ["inner", "middle", "#4"]);
}

#[test]
fn deep_recursion_keeps_the_innermost_frames_of_its_backtrace() {
    let inst = instantiate(RECURSE);
    let t = trap(call(&inst, "recurse", &[Val::I32(0)]));
    assert_eq!(t.kind(), Some(TrapKind::StackOverflow));
    assert!(t.backtrace.truncated);
    assert!(t.backtrace.frames.len() >= 16, "{:?}", t.backtrace);
    assert!(t.backtrace.frames.iter().all(|f| f.func_index == 0));
}

/// A fault in a host function called from wasm must crash the process (it
/// is a host bug), not become a trap.
#[test]
fn fault_in_host_code_kills_the_process() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var_os("FAASM_E2E_CRASH").is_some() {
        let engine = Engine::default();
        let m = module(
            &engine,
            r#"(module (import "env" "bad" (func $b)) (func (export "go") call $b))"#,
        );
        let mut linker = Linker::new(&engine);
        linker.func_new("env", "bad", FuncType::new([], []), |_, _, _| {
            // SAFETY: deliberately invalid; this child process must die.
            unsafe { std::ptr::write_volatile(24 as *mut u64, 1) };
            Ok(())
        });
        let inst = linker.instantiate(&m).unwrap();
        let _ = call(&inst, "go", &[]);
        std::process::exit(0);
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "fault_in_host_code_kills_the_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FAASM_E2E_CRASH", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "child status {:?}",
        out.status
    );
}

/// A function with `n` i64 locals, all live across a loop that runs
/// `p` times adding the loop counter to each; returns their sum, which is
/// n * p * (p + 1) / 2.
fn many_locals(n: usize) -> String {
    let mut s = String::from("(module (func (export \"f\") (param i32) (result i64)\n(local");
    s.push_str(&" i64".repeat(n));
    s.push_str(")\n(loop $l\n");
    for i in 1..=n {
        s.push_str(&format!(
            "(local.set {i} (i64.add (local.get {i}) (i64.extend_i32_u (local.get 0))))\n"
        ));
    }
    s.push_str("(br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))\n(local.get 1)\n");
    for i in 2..=n {
        s.push_str(&format!("(local.get {i}) (i64.add)\n"));
    }
    s.push_str("))");
    s
}

/// A br_table of `n` targets out of `n` nested blocks; after block i
/// (0 = innermost) ends, i is added to a local, which f returns.
fn wide_br_table(n: usize) -> String {
    let mut s = String::from("(module (func (export \"f\") (param i32) (result i32) (local i32)\n");
    s.push_str(&"(block\n".repeat(n));
    s.push_str("(br_table");
    for i in 0..n {
        s.push_str(&format!(" {i}"));
    }
    s.push_str(" (local.get 0))\n");
    for i in 0..n {
        s.push_str(&format!(
            "(local.set 1 (i32.add (local.get 1) (i32.const {i}))))\n"
        ));
    }
    s.push_str("(local.get 1)))");
    s
}

#[test]
fn huge_functions_compile_with_the_linear_allocator_and_run_correctly() {
    // Past the thresholds in compiler/src/driver.rs, these took 37 s and
    // 19 s to compile; what matters here is that the other code generator
    // gives the same answers.
    let inst = instantiate(&many_locals(20_000));
    let r = call(&inst, "f", &[Val::I32(3)]).unwrap();
    assert!(matches!(r[..], [Val::I64(120_000)]), "{r:?}");
    // Jumping out of block k (0 = innermost) skips the adds of blocks
    // 0..=k: the result is the sum of k+1..n-1.
    let n = 40_000;
    let inst = instantiate(&wide_br_table(n));
    for k in [0usize, 1, 17, n - 2, n - 1] {
        let expected: usize = (k + 1..n).sum();
        assert_eq!(
            call_i32(&inst, "f", &[Val::I32(k as i32)]),
            expected as i32,
            "k = {k}"
        );
    }
}

/// `$middle` is small, so it is compiled into `outer`; `$inner` stays a
/// call from that copy. A trap below it still lists every wasm function,
/// the copied one marked as inlined.
#[test]
fn an_inlined_function_keeps_its_frame_marked_inlined() {
    let (inst, _) = nested_instance();
    let t = trap(call(&inst, "outer", &[Val::I32(0)]));
    let inlined: Vec<(String, bool)> = names(&t.backtrace)
        .into_iter()
        .zip(t.backtrace.frames.iter().map(|f| f.inlined))
        .collect();
    assert_eq!(
        inlined,
        [
            ("inner".into(), false),
            ("middle".into(), true),
            ("#4".into(), false)
        ]
    );
    let full = format!("{t:#}");
    assert!(full.contains("1: `middle` (function 3), inlined"), "{full}");
}

/// A trap raised by code copied from `$inner` into its caller names
/// `$inner`, as without inlining.
#[test]
fn a_trap_in_inlined_code_names_the_inlined_function() {
    let inst = instantiate(
        r#"(module
             (func $div (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
             (func (export "go") (param i32) (result i32) (call $div (i32.const 7) (local.get 0))))"#,
    );
    assert_eq!(call_i32(&inst, "go", &[Val::I32(2)]), 3);
    let t = trap(call(&inst, "go", &[Val::I32(0)]));
    assert_eq!(t.kind(), Some(TrapKind::IntegerDivisionByZero));
    assert_eq!(t.func_name.as_deref(), Some("div"));
    assert_eq!(names(&t.backtrace), ["div", "#1"]);
    assert!(t.backtrace.frames[0].inlined);
    assert!(!t.backtrace.frames[1].inlined);
}
