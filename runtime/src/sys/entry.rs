//! The host→wasm entry and the trap landing pad.
//!
//! `faasm_enter(jmp, f, a0, a1, a2)` saves the callee-saved registers on the
//! stack, stores the resulting stack pointer in `*jmp`, calls `f(a0, a1, a2)`
//! and returns 0. When compiled code faults, the signal handler rewrites the
//! interrupted context so that execution resumes at `faasm_trap_landing`
//! with the stack pointer set back to `*jmp`: the landing pad restores the
//! callee-saved registers from that frame and returns 1 from `faasm_enter`.
//! Only wasm frames lie between the two points, and they own no resources,
//! so nothing needs unwinding.

use std::arch::naked_asm;

#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn faasm_enter(
    jmp: *mut usize,
    f: usize,
    a0: usize,
    a1: usize,
    a2: usize,
) -> u32 {
    naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        // Keep the stack 16-byte aligned at the call below.
        "sub rsp, 8",
        "mov [rdi], rsp",
        "mov rax, rsi",
        "mov rdi, rdx",
        "mov rsi, rcx",
        "mov rdx, r8",
        "call rax",
        "xor eax, eax",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Entered (never called) with the stack pointer equal to the value
/// `faasm_enter` stored in `*jmp`.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn faasm_trap_landing() {
    naked_asm!(
        "mov eax, 1",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub unsafe extern "C" fn faasm_enter(
    jmp: *mut usize,
    f: usize,
    a0: usize,
    a1: usize,
    a2: usize,
) -> u32 {
    naked_asm!(
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "stp x19, x20, [sp, #-16]!",
        "stp x21, x22, [sp, #-16]!",
        "stp x23, x24, [sp, #-16]!",
        "stp x25, x26, [sp, #-16]!",
        "stp x27, x28, [sp, #-16]!",
        "stp d8, d9, [sp, #-16]!",
        "stp d10, d11, [sp, #-16]!",
        "stp d12, d13, [sp, #-16]!",
        "stp d14, d15, [sp, #-16]!",
        "mov x9, sp",
        "str x9, [x0]",
        "mov x9, x1",
        "mov x0, x2",
        "mov x1, x3",
        "mov x2, x4",
        "blr x9",
        "mov w0, #0",
        "ldp d14, d15, [sp], #16",
        "ldp d12, d13, [sp], #16",
        "ldp d10, d11, [sp], #16",
        "ldp d8, d9, [sp], #16",
        "ldp x27, x28, [sp], #16",
        "ldp x25, x26, [sp], #16",
        "ldp x23, x24, [sp], #16",
        "ldp x21, x22, [sp], #16",
        "ldp x19, x20, [sp], #16",
        "ldp x29, x30, [sp], #16",
        "ret",
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub unsafe extern "C" fn faasm_trap_landing() {
    naked_asm!(
        "mov w0, #1",
        "ldp d14, d15, [sp], #16",
        "ldp d12, d13, [sp], #16",
        "ldp d10, d11, [sp], #16",
        "ldp d8, d9, [sp], #16",
        "ldp x27, x28, [sp], #16",
        "ldp x25, x26, [sp], #16",
        "ldp x23, x24, [sp], #16",
        "ldp x21, x22, [sp], #16",
        "ldp x19, x20, [sp], #16",
        "ldp x29, x30, [sp], #16",
        "ret",
    )
}

// The host-call dispatcher, defined (unmangled) in `call.rs`: declared
// here rather than imported, so this module stays below the call path.
unsafe extern "C" {
    fn faasm_host_dispatch(
        host_ctx: *mut u8,
        caller_vmctx: *mut u8,
        values: *mut crate::vm::ValSlot,
        exit_fp: usize,
    ) -> u32;
}

/// What host trampolines call through `HostFuncCtx::dispatch`: passes
/// their frame pointer on to `faasm_host_dispatch` as a fourth argument,
/// so a host function can walk the wasm frames that called it. A tail
/// jump: the dispatcher returns straight to the trampoline.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn host_dispatch_entry(
    host_ctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut crate::vm::ValSlot,
) -> u32 {
    naked_asm!(
        "mov rcx, rbp",
        "jmp {dispatch}",
        dispatch = sym faasm_host_dispatch,
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub unsafe extern "C" fn host_dispatch_entry(
    host_ctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut crate::vm::ValSlot,
) -> u32 {
    naked_asm!(
        "mov x3, x29",
        "b {dispatch}",
        dispatch = sym faasm_host_dispatch,
    )
}
