//! The runtime helpers compiled code calls through `vmctx.builtins`, in the
//! order of `faasm_abi::Builtin`. Each checks the whole range before acting
//! (so a failing bulk operation changes nothing) and reports failure with a
//! non-zero status; the compiled code raises the trap.

use crate::memory::MemoryInner;
use crate::objects::InstanceInner;
use crate::table::{TableInner, range};
use crate::vm::waiter;

/// The table compiled code indexes by `Builtin as u32`.
#[repr(transparent)]
pub(crate) struct BuiltinTable(pub [*const (); 13]);

// SAFETY: immutable function pointers.
unsafe impl Sync for BuiltinTable {}

pub(crate) static BUILTINS: BuiltinTable = BuiltinTable([
    memory_grow as *const (),
    memory_fill as *const (),
    memory_copy as *const (),
    memory_init as *const (),
    data_drop as *const (),
    table_grow as *const (),
    table_fill as *const (),
    table_copy as *const (),
    table_init as *const (),
    elem_drop as *const (),
    memory_atomic_notify as *const (),
    memory_atomic_wait32 as *const (),
    memory_atomic_wait64 as *const (),
]);

const _: () = assert!(BUILTINS.0.len() == faasm_abi::Builtin::ALL.len());

const OK: u32 = 0;
const FAIL: u32 = 1;

fn instance<'a>(vmctx: *mut u8) -> &'a InstanceInner {
    // SAFETY: compiled code passes its own live vmctx as the first argument
    // of every builtin, and the instance outlives the running call.
    unsafe { InstanceInner::from_vmctx(vmctx) }
}

fn memory(vmctx: *mut u8, index: u32) -> &'static MemoryInner {
    let inst = instance(vmctx);
    let m: &MemoryInner = &inst.memories[index as usize].inner;
    // SAFETY: the memory lives as long as the instance, which outlives this
    // builtin call; the 'static is confined to the call.
    unsafe { &*(m as *const MemoryInner) }
}

fn table(vmctx: *mut u8, index: u32) -> &'static TableInner {
    let inst = instance(vmctx);
    let t: &TableInner = &inst.tables[index as usize].inner;
    // SAFETY: as in `memory`.
    unsafe { &*(t as *const TableInner) }
}

extern "C" fn memory_grow(vmctx: *mut u8, mem: u32, delta: u64) -> u64 {
    memory(vmctx, mem).grow(delta).unwrap_or(u64::MAX)
}

/// `memory.fill` after the compiled code's bounds check (in line, so a
/// small fill costs a call, not a walk from the vmctx to the memory).
extern "C" fn memory_fill(_vmctx: *mut u8, dst: u64, byte: u32, len: u64) {
    // SAFETY: the compiled code calls this only after checking
    // `[dst - base, dst - base + len)` against the memory's current length,
    // and a memory's accessible prefix only grows while code runs in it.
    unsafe { std::ptr::write_bytes(dst as *mut u8, byte as u8, len as usize) };
}

/// `memory.copy` after the compiled code's bounds checks of both ranges.
extern "C" fn memory_copy(_vmctx: *mut u8, dst: u64, src: u64, len: u64) {
    // SAFETY: as in `memory_fill`, for both ranges (possibly of two
    // memories); `copy` handles overlap (memmove).
    unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, len as usize) };
}

extern "C" fn memory_init(vmctx: *mut u8, mem: u32, seg: u32, dst: u64, src: u32, len: u32) -> u32 {
    let data = instance(vmctx).data_segment(seg);
    let Some(r) = range(src as u64, len as u64, data.len()) else {
        return FAIL;
    };
    match memory(vmctx, mem).checked_ptr(dst, len as u64) {
        Ok(p) => {
            // SAFETY: the destination range is inside accessible memory and
            // the source is a distinct Rust allocation.
            unsafe { std::ptr::copy_nonoverlapping(data[r].as_ptr(), p, len as usize) };
            OK
        }
        Err(_) => FAIL,
    }
}

extern "C" fn data_drop(vmctx: *mut u8, seg: u32) {
    instance(vmctx).drop_data(seg);
}

extern "C" fn table_grow(vmctx: *mut u8, tab: u32, init: u64, delta: u32) -> u32 {
    match table(vmctx, tab).grow(delta as u64, init) {
        Some(old) => old as u32,
        None => u32::MAX,
    }
}

extern "C" fn table_fill(vmctx: *mut u8, tab: u32, dst: u32, value: u64, len: u32) -> u32 {
    status(table(vmctx, tab).fill(dst as u64, value, len as u64))
}

extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_t: u32,
    src_t: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    let (d, s) = (table(vmctx, dst_t), table(vmctx, src_t));
    status(TableInner::copy(d, s, dst as u64, src as u64, len as u64))
}

extern "C" fn table_init(vmctx: *mut u8, tab: u32, seg: u32, dst: u32, src: u32, len: u32) -> u32 {
    let elems = instance(vmctx)
        .elems
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let items: &[u64] = elems[seg as usize].as_deref().unwrap_or(&[]);
    status(table(vmctx, tab).init(dst as u64, items, src as u64, len as u64))
}

extern "C" fn elem_drop(vmctx: *mut u8, seg: u32) {
    instance(vmctx).drop_elem(seg);
}

fn status(ok: bool) -> u32 {
    if ok { OK } else { FAIL }
}

/// Negated trap kinds are how wait/notify report traps (see `faasm_abi::Builtin`).
fn trap(kind: faasm_abi::TrapKind) -> i64 {
    -(kind as i64)
}

extern "C" fn memory_atomic_notify(vmctx: *mut u8, mem: u32, addr: u64, count: u32) -> i64 {
    let m = memory(vmctx, mem);
    match m.checked_ptr(addr, 4) {
        // An unshared memory has no other threads, so nobody to wake.
        Ok(_) if !m.is_shared() => 0,
        Ok(p) => waiter::notify(p, count),
        Err(_) => trap(faasm_abi::TrapKind::MemoryOutOfBounds),
    }
}

fn wait(
    vmctx: *mut u8,
    mem: u32,
    addr: u64,
    expected: waiter::Expected,
    size: u64,
    timeout: i64,
) -> i64 {
    let m = memory(vmctx, mem);
    match m.checked_ptr(addr, size) {
        Err(_) => trap(faasm_abi::TrapKind::MemoryOutOfBounds),
        Ok(_) if !m.is_shared() => trap(faasm_abi::TrapKind::ExpectedSharedMemory),
        Ok(p) => {
            let interrupt = instance(vmctx).vmctx.interrupt_flag();
            // SAFETY: in bounds, aligned (compiled code checked the effective
            // address) and shared, so the memory never moves while we sleep.
            match unsafe { waiter::wait(p, expected, timeout, interrupt) } {
                waiter::INTERRUPTED => trap(faasm_abi::TrapKind::Interrupt),
                outcome => outcome,
            }
        }
    }
}

extern "C" fn memory_atomic_wait32(
    vmctx: *mut u8,
    mem: u32,
    addr: u64,
    expected: u32,
    timeout: i64,
) -> i64 {
    wait(
        vmctx,
        mem,
        addr,
        waiter::Expected::U32(expected),
        4,
        timeout,
    )
}

extern "C" fn memory_atomic_wait64(
    vmctx: *mut u8,
    mem: u32,
    addr: u64,
    expected: u64,
    timeout: i64,
) -> i64 {
    wait(
        vmctx,
        mem,
        addr,
        waiter::Expected::U64(expected),
        8,
        timeout,
    )
}
