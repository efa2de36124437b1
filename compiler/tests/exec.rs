//! Runs compiled code in-process, without the runtime: maps the text
//! executable, builds a minimal vmctx by hand and calls through the entry
//! trampolines. This checks the calling convention end to end — entry and
//! host trampolines, direct-call linking and imported calls via VMFuncRef.
//!
//! x86-64 Linux only: on aarch64 the instruction cache would also need
//! flushing after the copy.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod common;
use common::*;
use faasm_abi::{Artifact, HOST_CTX_DISPATCH, VMFUNCREF_CODE, VMFUNCREF_VMCTX, VMOffsets};

/// The artifact's text, mapped read+execute.
struct Code {
    base: *mut u8,
    len: usize,
}

impl Code {
    fn load(a: &Artifact) -> Code {
        let len = a.text.len().next_multiple_of(4096).max(4096);
        // SAFETY: a fresh anonymous private mapping; no existing memory is
        // affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base.cast::<u8>();
        // SAFETY: the mapping is `len >= text.len()` bytes and writable;
        // afterwards it becomes read+execute and is never written again.
        unsafe {
            std::ptr::copy_nonoverlapping(a.text.as_ptr(), base, a.text.len());
            assert_eq!(
                libc::mprotect(base.cast(), len, libc::PROT_READ | libc::PROT_EXEC),
                0
            );
        }
        Code { base, len }
    }

    fn at(&self, offset: u32) -> *const u8 {
        // SAFETY: offsets come from the artifact and lie inside the text.
        unsafe { self.base.add(offset as usize) }
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `load`.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

type Slot = [u8; 16];
type EntryFn = unsafe extern "C" fn(*mut u8, *const u8, *mut Slot);
type Dispatch = unsafe extern "C" fn(*mut u8, *mut u8, *mut Slot) -> u32;

/// A zeroed, 16-byte aligned vmctx: stack_limit 0 (never overflows),
/// interrupt flag clear.
fn vmctx(a: &Artifact) -> Vec<u128> {
    vec![
        0u128;
        (VMOffsets::new(&a.info).size() as usize)
            .div_ceil(16)
            .max(4)
    ]
}

/// Calls wasm function `code` of type `ty` through its entry trampoline.
fn call(a: &Artifact, text: &Code, ty: u32, code: *const u8, vmctx: *mut u8, values: &mut [Slot]) {
    let (_, off) = a.entry_trampolines.iter().find(|(t, _)| *t == ty).unwrap();
    // SAFETY: the entry trampoline has exactly the `EntryFn` signature; the
    // callee is compiled code of type `ty`, `values` has a slot for every
    // parameter and result, and the vmctx is laid out for this module.
    unsafe {
        let entry: EntryFn = std::mem::transmute(text.at(*off));
        entry(vmctx, code, values.as_mut_ptr());
    }
}

fn export_func(a: &Artifact, name: &str) -> (u32, u32) {
    let index = a.info.export(name).unwrap().index;
    let defined = (index - a.info.num_imported_funcs) as usize;
    (a.info.funcs[index as usize], a.funcs[defined].offset)
}

fn slot_i32(v: i32) -> Slot {
    let mut s = [0; 16];
    s[..4].copy_from_slice(&v.to_le_bytes());
    s
}

fn get_i64(s: &Slot) -> i64 {
    i64::from_le_bytes(s[..8].try_into().unwrap())
}

#[test]
fn direct_calls_are_linked() {
    let a = compile_wat(
        r#"(module
             (func $mul (param i32 i32) (result i32) local.get 0 local.get 1 i32.mul)
             (func (export "f") (param i32) (result i32)
               local.get 0 i32.const 3 call $mul i32.const 1 i32.add))"#,
    );
    let text = Code::load(&a);
    let mut ctx = vmctx(&a);
    let (ty, off) = export_func(&a, "f");
    let mut values = [slot_i32(14)];
    call(
        &a,
        &text,
        ty,
        text.at(off),
        ctx.as_mut_ptr().cast(),
        &mut values,
    );
    assert_eq!(values[0][..4], 43i32.to_le_bytes());
}

#[test]
fn many_results_come_back_through_the_entry_trampoline() {
    let a = compile_wat(
        r#"(module (func (export "f") (param i64)
             (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
             local.get 0 i64.const 1 i64.add
             local.get 0 i64.const 2 i64.add
             local.get 0 i64.const 3 i64.add
             local.get 0 i64.const 4 i64.add
             local.get 0 i64.const 5 i64.add
             local.get 0 i64.const 6 i64.add
             local.get 0 i64.const 7 i64.add
             local.get 0 i64.const 8 i64.add
             local.get 0 i64.const 9 i64.add
             local.get 0 i64.const 10 i64.add))"#,
    );
    let text = Code::load(&a);
    let mut ctx = vmctx(&a);
    let (ty, off) = export_func(&a, "f");
    let mut values = [[0u8; 16]; 10];
    values[0][..8].copy_from_slice(&1000i64.to_le_bytes());
    call(
        &a,
        &text,
        ty,
        text.at(off),
        ctx.as_mut_ptr().cast(),
        &mut values,
    );
    let got: Vec<i64> = values.iter().map(get_i64).collect();
    assert_eq!(got, (1001..=1010).collect::<Vec<_>>());
}

/// A runtime-style host function context: the dispatcher comes first.
#[repr(C)]
struct HostCtx {
    dispatch: Dispatch,
    calls: u32,
    seen_caller: *mut u8,
}

/// `(i32, i64, v128) -> (i64, v128, f64)`: returns a+b, the vector with its
/// halves swapped, and 0.5; counts its calls.
unsafe extern "C" fn dispatch(host: *mut u8, caller: *mut u8, values: *mut Slot) -> u32 {
    // SAFETY: the host trampoline passes the HostCtx pointer it was
    // installed with and three 16-byte slots (max(params, results)).
    unsafe {
        let host = &mut *host.cast::<HostCtx>();
        host.calls += 1;
        host.seen_caller = caller;
        let v = std::slice::from_raw_parts_mut(values, 3);
        let a = i32::from_le_bytes(v[0][..4].try_into().unwrap()) as i64;
        let b = get_i64(&v[1]);
        let (lo, hi) = v[2].split_at(8);
        let swapped: Slot = [hi, lo].concat().try_into().unwrap();
        v[0][..8].copy_from_slice(&(a + b).to_le_bytes());
        v[1] = swapped;
        v[2][..8].copy_from_slice(&0.5f64.to_le_bytes());
    }
    0
}

const HOST_IMPORT: &str = r#"(module
  (type $h (func (param i32 i64 v128) (result i64 v128 f64)))
  (import "env" "h" (func $h (type $h)))
  (func (export "f") (param i32) (result i64 v128 f64)
    local.get 0 i64.const 100 v128.const i64x2 1 2 call $h))"#;

#[test]
fn imported_host_function_is_called_through_its_trampoline() {
    let a = compile_wat(HOST_IMPORT);
    let text = Code::load(&a);
    let mut ctx = vmctx(&a);
    let vm: *mut u8 = ctx.as_mut_ptr().cast();
    let mut host = HostCtx {
        dispatch,
        calls: 0,
        seen_caller: std::ptr::null_mut(),
    };

    // What the runtime does when a host function satisfies import 0.
    let (_, tramp) = a.host_trampolines.iter().find(|(t, _)| *t == 0).unwrap();
    let funcref = VMOffsets::new(&a.info).funcref(0) as usize;
    let write = |at: usize, v: u64| {
        // SAFETY: inside the zeroed vmctx buffer, 8-byte aligned.
        unsafe { vm.add(at).cast::<u64>().write(v) }
    };
    write(funcref + VMFUNCREF_CODE as usize, text.at(*tramp) as u64);
    write(funcref + VMFUNCREF_VMCTX as usize, &raw mut host as u64);
    assert_eq!(HOST_CTX_DISPATCH, 0);

    let (ty, off) = export_func(&a, "f");
    let mut values = [slot_i32(-7), [0; 16], [0; 16]];
    call(&a, &text, ty, text.at(off), vm, &mut values);
    assert_eq!(host.calls, 1);
    assert_eq!(host.seen_caller, vm, "the caller's vmctx reaches the host");
    assert_eq!(get_i64(&values[0]), 93);
    let mut expected = [0u8; 16];
    expected[..8].copy_from_slice(&2u64.to_le_bytes());
    expected[8..].copy_from_slice(&1u64.to_le_bytes());
    assert_eq!(values[1], expected);
    assert_eq!(values[2][..8], 0.5f64.to_le_bytes());
}

#[test]
fn host_trampoline_works_without_any_function_body() {
    // The runtime can call a host function through the entry trampoline of
    // its type (e.g. an exported import): callee vmctx = host ctx.
    let a = compile_wat(
        r#"(module
             (type $h (func (param i32 i64 v128) (result i64 v128 f64)))
             (import "env" "h" (func (type $h))))"#,
    );
    let text = Code::load(&a);
    let mut host = HostCtx {
        dispatch,
        calls: 0,
        seen_caller: std::ptr::null_mut(),
    };
    let hp: *mut u8 = (&raw mut host).cast();
    let (_, tramp) = a.host_trampolines[0];
    let mut values = [slot_i32(1), [0; 16], [0; 16]];
    values[1][..8].copy_from_slice(&41i64.to_le_bytes());
    values[2] = *b"0123456789abcdef";
    call(&a, &text, 0, text.at(tramp), hp, &mut values);
    assert_eq!(host.calls, 1);
    assert_eq!(get_i64(&values[0]), 42);
    assert_eq!(&values[1], b"89abcdef01234567");
    assert_eq!(values[2][..8], 0.5f64.to_le_bytes());
}
