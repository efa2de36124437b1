//! Runtime tests that do not need the compiler: tiny modules whose "compiled
//! code" is hand-assembled x86-64, exercising the entry/landing assembly,
//! the signal handler, host-function dispatch and interrupts.
//!
//! The hand-written functions use the SystemV convention (which agrees with
//! Cranelift's `tail` convention on the first argument registers), so they
//! are only meaningful on x86-64.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use faasm_abi::*;
use faasm_runtime::{Caller, Engine, Error, Func, Linker, Memory, Module, Trap, TrapReason, Val};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Text builder that records function offsets and trap sites.
#[derive(Default)]
struct Text {
    bytes: Vec<u8>,
    traps: Vec<TrapSite>,
}

impl Text {
    fn here(&self) -> u32 {
        self.bytes.len() as u32
    }
    fn emit(&mut self, b: &[u8]) -> u32 {
        let at = self.here();
        self.bytes.extend_from_slice(b);
        at
    }
    fn trap(&mut self, b: &[u8], kind: TrapKind) -> u32 {
        let at = self.emit(b);
        self.traps.push(TrapSite { offset: at, kind });
        at
    }
}

/// The `() -> i32` module used by most tests: function 0 is an import
/// `env.host: () -> i32`; the defined functions follow.
fn build() -> Artifact {
    let ty = FuncType::new([], [ValType::I32]);
    let nfuncs = 9u32;
    let mut info = ModuleInfo {
        types: vec![ty],
        imports: vec![Import {
            module: "env".into(),
            name: "host".into(),
            ty: EntityType::Func(0),
        }],
        funcs: vec![0; nfuncs as usize],
        memories: vec![MemoryType {
            min: 1,
            max: Some(3),
            shared: false,
            memory64: false,
        }],
        num_imported_funcs: 1,
        ..Default::default()
    };
    let names = [
        "answer",
        "unreachable",
        "oob_load",
        "div_zero",
        "recurse_unchecked",
        "recurse_checked",
        "call_host",
        "spin",
    ];
    for (i, n) in names.iter().enumerate() {
        info.exports.push(Export {
            name: n.to_string(),
            kind: ExportKind::Func,
            index: i as u32 + 1,
        });
    }
    info.exports.push(Export {
        name: "memory".into(),
        kind: ExportKind::Memory,
        index: 0,
    });
    info.func_names = vec![(2, "unreachable".into()), (3, "oob_load".into())];
    let offsets = VMOffsets::new(&info);
    let mem_ptr = offsets.memory_ptr(0);

    let mut t = Text::default();
    let mut funcs = Vec::new();
    let mut func = |t: &mut Text, body: &dyn Fn(&mut Text)| {
        let start = t.here();
        body(t);
        funcs.push(CompiledFunc {
            offset: start,
            len: t.here() - start,
        });
    };
    // answer: mov eax, 42; ret
    func(&mut t, &|t| {
        t.emit(&[0xb8, 42, 0, 0, 0, 0xc3]);
    });
    // unreachable: ud2
    func(&mut t, &|t| {
        t.trap(&[0x0f, 0x0b], TrapKind::Unreachable);
    });
    // oob_load: rax = memory def; rax = base; eax = [rax + 0x10000] (guard)
    func(&mut t, &|t| {
        let d = mem_ptr.to_le_bytes();
        t.emit(&[0x48, 0x8b, 0x87, d[0], d[1], d[2], d[3]]);
        t.emit(&[0x48, 0x8b, 0x00]);
        t.trap(
            &[0x8b, 0x80, 0x00, 0x00, 0x01, 0x00],
            TrapKind::MemoryOutOfBounds,
        );
        t.emit(&[0xc3]);
    });
    // div_zero: xor ecx, ecx; mov eax, 1; cdq; idiv ecx; ret
    func(&mut t, &|t| {
        t.emit(&[0x31, 0xc9, 0xb8, 1, 0, 0, 0, 0x99]);
        t.trap(&[0xf7, 0xf9], TrapKind::IntegerDivisionByZero);
        t.emit(&[0xc3]);
    });
    // recurse_unchecked: call self forever (hits the guard page)
    func(&mut t, &|t| {
        t.emit(&[0xe8, 0xfb, 0xff, 0xff, 0xff]);
    });
    // recurse_checked: cmp rsp, [rdi]; jb trap; call self; ret; trap: ud2
    func(&mut t, &|t| {
        t.emit(&[
            0x48, 0x3b, 0x27, 0x72, 0x06, 0xe8, 0xf6, 0xff, 0xff, 0xff, 0xc3,
        ]);
        t.trap(&[0x0f, 0x0b], TrapKind::StackOverflow);
    });
    // call_host: push rbx; rax = funcref0.code; rsi = rdi; rdi = funcref0.vmctx;
    // call rax; add eax, 1; pop rbx; ret
    let f0 = offsets.funcref(0) as u8;
    func(&mut t, &|t| {
        t.emit(&[
            0x53,
            0x48,
            0x8b,
            0x47,
            f0,
            0x48,
            0x89,
            0xfe,
            0x48,
            0x8b,
            0x7f,
            f0 + 8,
        ]);
        t.emit(&[0xff, 0xd0, 0x83, 0xc0, 0x01, 0x5b, 0xc3]);
    });
    // spin: loop { if [rdi+8] != 0 { ud2 } }
    func(&mut t, &|t| {
        t.emit(&[0x48, 0x83, 0x7f, 0x08, 0x00, 0x75, 0x02, 0xeb, 0xf7]);
        t.trap(&[0x0f, 0x0b], TrapKind::Interrupt);
    });
    // Entry trampoline (vmctx, code, values): push rbx; rbx = values;
    // rax = code; rsi = vmctx; call rax; [rbx] = eax; pop rbx; ret
    let entry = t.emit(&[
        0x53, 0x48, 0x89, 0xd3, 0x48, 0x89, 0xf0, 0x48, 0x89, 0xfe, 0xff, 0xd0, 0x89, 0x03, 0x5b,
        0xc3,
    ]);
    // Host trampoline (host_ctx, caller): sub rsp, 24; rdx = rsp;
    // call [rdi]; test eax, eax; jnz trap; eax = [rsp]; add rsp, 24; ret
    let host = t.emit(&[
        0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0xe2, 0xff, 0x17, 0x85, 0xc0, 0x75, 0x08,
    ]);
    t.emit(&[0x8b, 0x04, 0x24, 0x48, 0x83, 0xc4, 0x18, 0xc3]);
    t.trap(&[0x0f, 0x0b], TrapKind::HostError);

    t.traps.sort_by_key(|s| s.offset);
    Artifact {
        compiler_version: "handmade".into(),
        target: "x86_64".into(),
        memory_strategy: MemoryStrategy::default(),
        poll_interrupts: false,
        info,
        text: t.bytes,
        funcs,
        entry_trampolines: vec![(0, entry)],
        host_trampolines: vec![(0, host)],
        traps: t.traps,
        inlined: vec![],
    }
}

fn instance_with(host: Func) -> faasm_runtime::Instance {
    let engine = Engine::default();
    let module = Module::from_compiled(&engine, build()).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("env", "host", host);
    linker.instantiate(&module).unwrap()
}

fn host_returning(v: i32) -> Func {
    Func::new(FuncType::new([], [ValType::I32]), move |_, _, r| {
        r[0] = Val::I32(v);
        Ok(())
    })
}

fn call(inst: &faasm_runtime::Instance, name: &str) -> Result<i32, Error> {
    let r = inst.get_func(name).unwrap().call(&[])?;
    match r[..] {
        [Val::I32(v)] => Ok(v),
        _ => panic!("unexpected results {r:?}"),
    }
}

fn trap_kind(r: Result<i32, Error>) -> Trap {
    match r {
        Err(Error::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn calls_return_values() {
    let inst = instance_with(host_returning(7));
    assert_eq!(call(&inst, "answer").unwrap(), 42);
    assert_eq!(call(&inst, "call_host").unwrap(), 8);
}

#[test]
fn ud2_becomes_a_trap_and_the_thread_keeps_running_wasm() {
    let inst = instance_with(host_returning(0));
    for _ in 0..3 {
        let t = trap_kind(call(&inst, "unreachable"));
        assert_eq!(t.kind(), Some(TrapKind::Unreachable));
        assert_eq!(t.func_index, Some(2));
        assert_eq!(t.func_name.as_deref(), Some("unreachable"));
        assert_eq!(call(&inst, "answer").unwrap(), 42);
    }
}

#[test]
fn guard_page_load_is_out_of_bounds_until_memory_grows() {
    let inst = instance_with(host_returning(0));
    let t = trap_kind(call(&inst, "oob_load"));
    assert_eq!(t.kind(), Some(TrapKind::MemoryOutOfBounds));
    assert_eq!(t.func_name.as_deref(), Some("oob_load"));
    let mem = inst.get_memory("memory").unwrap();
    assert_eq!(mem.grow(1).unwrap(), 1);
    mem.write(0x10000, &77i32.to_le_bytes()).unwrap();
    assert_eq!(call(&inst, "oob_load").unwrap(), 77);
}

#[test]
fn sigfpe_becomes_division_trap() {
    let inst = instance_with(host_returning(0));
    let t = trap_kind(call(&inst, "div_zero"));
    assert_eq!(t.kind(), Some(TrapKind::IntegerDivisionByZero));
    assert_eq!(call(&inst, "answer").unwrap(), 42);
}

#[test]
fn stack_limit_check_traps_with_stack_overflow() {
    let inst = instance_with(host_returning(0));
    for _ in 0..2 {
        let t = trap_kind(call(&inst, "recurse_checked"));
        assert_eq!(t.kind(), Some(TrapKind::StackOverflow));
    }
    assert_eq!(call(&inst, "answer").unwrap(), 42);
}

#[test]
fn guard_page_stack_overflow_in_wasm_is_a_trap() {
    // Run on a fresh thread with a small stack so the recursion reaches the
    // thread's guard page quickly.
    let h = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let inst = instance_with(host_returning(0));
            let t = trap_kind(call(&inst, "recurse_unchecked"));
            assert_eq!(t.kind(), Some(TrapKind::StackOverflow));
            // The same thread can run wasm (and overflow) again.
            let t = trap_kind(call(&inst, "recurse_unchecked"));
            assert_eq!(t.kind(), Some(TrapKind::StackOverflow));
            call(&inst, "answer").unwrap()
        })
        .unwrap();
    assert_eq!(h.join().unwrap(), 42);
}

#[test]
fn host_errors_and_exits_come_back_unchanged() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let host = Func::new(FuncType::new([], [ValType::I32]), move |_, _, _| {
        match c.fetch_add(1, Ordering::SeqCst) {
            0 => Err(Trap::exit(3)),
            1 => Err(Trap::host("boom")),
            _ => panic!("host panic"),
        }
    });
    let inst = instance_with(host);
    let t = trap_kind(call(&inst, "call_host"));
    assert_eq!(t.reason, TrapReason::Exit(3));
    let t = trap_kind(call(&inst, "call_host"));
    assert!(matches!(&t.reason, TrapReason::Host(h) if h.message == "boom"));
    let t = trap_kind(call(&inst, "call_host"));
    assert!(
        matches!(&t.reason, TrapReason::Host(h) if h.message.contains("host panic")),
        "{t}"
    );
    assert_eq!(call(&inst, "answer").unwrap(), 42);
}

#[test]
fn host_sees_caller_memory() {
    let host = Func::new(
        FuncType::new([], [ValType::I32]),
        |caller: &mut Caller<'_>, _, r| {
            let mem = caller.memory_mut().expect("caller has a memory");
            assert_eq!(mem.len(), 65536);
            let v = i32::from_le_bytes(mem[16..20].try_into().unwrap());
            mem[0] = 0xab;
            r[0] = Val::I32(v * 2);
            Ok(())
        },
    );
    let inst = instance_with(host);
    let mem = inst.get_memory("memory").unwrap();
    mem.write(16, &21i32.to_le_bytes()).unwrap();
    assert_eq!(call(&inst, "call_host").unwrap(), 43);
    let mut b = [0u8];
    mem.read(0, &mut b).unwrap();
    assert_eq!(b[0], 0xab);
}

#[test]
fn nested_wasm_call_from_host_traps_to_the_inner_entry() {
    // The host function calls back into wasm, which traps: the inner call
    // returns the trap to the host function, which then succeeds.
    let slot: Arc<std::sync::OnceLock<faasm_runtime::Instance>> = Default::default();
    let s = slot.clone();
    let host = Func::new(FuncType::new([], [ValType::I32]), move |_, _, r| {
        let inst = s.get().unwrap();
        let err = inst.get_func("unreachable").unwrap().call(&[]).unwrap_err();
        assert!(matches!(err, Error::Trap(ref t) if t.kind() == Some(TrapKind::Unreachable)));
        let v = inst.get_func("answer").unwrap().call(&[]).unwrap();
        r[0] = v[0].clone();
        Ok(())
    });
    let inst = instance_with(host);
    slot.set(inst.clone()).unwrap();
    assert_eq!(call(&inst, "call_host").unwrap(), 43);
}

#[test]
fn interrupt_from_another_thread_stops_a_spinning_loop() {
    let inst = instance_with(host_returning(0));
    let handle = inst.interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        handle.interrupt();
    });
    let t = trap_kind(call(&inst, "spin"));
    assert_eq!(t.kind(), Some(TrapKind::Interrupt));
    stopper.join().unwrap();
    // Stays interrupted until cleared.
    assert_eq!(
        trap_kind(call(&inst, "spin")).kind(),
        Some(TrapKind::Interrupt)
    );
    inst.interrupt_handle().clear();
    assert_eq!(call(&inst, "answer").unwrap(), 42);
}

#[test]
fn many_threads_trap_concurrently() {
    let inst = instance_with(host_returning(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let f = inst.get_func("div_zero").unwrap();
            let g = inst.get_func("oob_load").unwrap();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    assert!(f.call(&[]).is_err());
                    assert!(g.call(&[]).is_err());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn argument_checks_are_usage_errors() {
    let inst = instance_with(host_returning(0));
    let f = inst.get_func("answer").unwrap();
    assert!(matches!(f.call(&[Val::I32(1)]), Err(Error::Usage(_))));
}

#[test]
fn link_errors() {
    let engine = Engine::default();
    let module = Module::from_compiled(&engine, build()).unwrap();
    let linker = Linker::new(&engine);
    let e = linker.instantiate(&module).unwrap_err();
    assert!(
        matches!(e, Error::Link(faasm_runtime::LinkError::Missing { .. })),
        "{e}"
    );
    let mut linker = Linker::new(&engine);
    linker.func_new(
        "env",
        "host",
        FuncType::new([ValType::I32], [ValType::I32]),
        |_, _, _| Ok(()),
    );
    let e = linker.instantiate(&module).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Link(faasm_runtime::LinkError::Incompatible { .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("incompatible import type"), "{e}");
    let mut linker = Linker::new(&engine);
    let mem = Memory::new(MemoryType {
        min: 1,
        max: None,
        shared: false,
        memory64: false,
    })
    .unwrap();
    linker.define("env", "host", mem);
    assert!(matches!(linker.instantiate(&module), Err(Error::Link(_))));
}

/// A fault in host code (not compiled wasm) must not be swallowed: run the
/// crashing case in a child process and check it died of SIGSEGV.
#[test]
fn host_fault_is_not_swallowed() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var_os("FAASM_CRASH_CHILD").is_some() {
        let host = Func::new(FuncType::new([], [ValType::I32]), |_, _, _| {
            // SAFETY: deliberately invalid; this child process must die.
            let v = unsafe { std::ptr::read_volatile(16 as *const i32) };
            std::process::exit(v);
        });
        let inst = instance_with(host);
        let _ = call(&inst, "call_host");
        std::process::exit(0);
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "host_fault_is_not_swallowed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FAASM_CRASH_CHILD", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "child status {:?}",
        out.status
    );
}

/// Built without the compiler (`--no-default-features`), the runtime still
/// loads and runs artifacts (every test above), and WebAssembly is a clear
/// error rather than a missing function.
#[cfg(not(feature = "compiler"))]
#[test]
fn without_the_compiler_wasm_is_a_clear_error() {
    let wasm = b"\0asm\x01\0\0\0";
    let err = Module::new(&Engine::default(), wasm).unwrap_err();
    assert!(matches!(err, Error::NoCompiler), "{err:?}");
    assert!(err.to_string().contains("without the compiler"), "{err}");
}
