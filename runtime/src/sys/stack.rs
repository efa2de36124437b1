//! Per-thread stack facts: the bounds of the native stack (for the wasm
//! stack limit and for recognising guard-page faults) and an alternate
//! signal stack big enough for our fault handler, so that a fault caused by
//! stack exhaustion can still be handled.

use super::mmap::{Mmap, page_size};
use std::cell::{Cell, RefCell};

/// Size of the alternate signal stack we install when the thread has none
/// (or only a small one).
const ALT_STACK_SIZE: usize = 64 << 10;

thread_local! {
    /// `(lowest, highest)` address of this thread's stack; `(0, 0)` until
    /// first computed. Const-initialised with no destructor, so the signal
    /// handler may read it.
    static BOUNDS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// `(lowest, highest)` address of the current thread's stack.
pub fn thread_stack_bounds() -> (usize, usize) {
    let b = BOUNDS.with(|b| b.get());
    if b.0 != 0 {
        return b;
    }
    let b = query_bounds();
    BOUNDS.with(|c| c.set(b));
    b
}

/// The cached bounds, for the signal handler: `(0, 0)` if never computed.
pub fn cached_thread_stack_bounds() -> (usize, usize) {
    BOUNDS.with(|b| b.get())
}

#[cfg(target_os = "linux")]
fn query_bounds() -> (usize, usize) {
    // SAFETY: plain libc queries about the calling thread into local
    // out-parameters; the attribute object is destroyed after use.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return fallback_bounds();
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let r = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if r != 0 || addr.is_null() {
            return fallback_bounds();
        }
        (addr as usize, addr as usize + size)
    }
}

#[cfg(not(target_os = "linux"))]
fn query_bounds() -> (usize, usize) {
    fallback_bounds()
}

/// Without OS information assume a conservative 512 KiB below here.
fn fallback_bounds() -> (usize, usize) {
    let here = current_sp();
    (here.saturating_sub(512 << 10), here)
}

/// An approximation of the current stack pointer.
#[inline(always)]
pub fn current_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Makes sure this thread has an alternate signal stack of at least
/// `ALT_STACK_SIZE` bytes.
pub fn ensure_alt_stack() {
    ALT_STACK.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_some() {
            return;
        }
        // SAFETY: querying the current alternate stack into a local.
        let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above; a null new-stack pointer only queries.
        let r = unsafe { libc::sigaltstack(std::ptr::null(), &mut old) };
        if r == 0 && old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= ALT_STACK_SIZE {
            *slot = Some(AltStack { map: None });
            return;
        }
        *slot = Some(AltStack::install());
    });
}

struct AltStack {
    /// `None` when the thread already had a big enough stack.
    map: Option<Mmap>,
}

impl AltStack {
    fn install() -> AltStack {
        let page = page_size();
        // A guard page below the stack turns an overflow of the handler
        // itself into a crash instead of silent corruption.
        let map = Mmap::reserve(ALT_STACK_SIZE + page).expect("cannot map a signal stack");
        map.make_accessible(page, ALT_STACK_SIZE)
            .expect("cannot map a signal stack");
        let st = libc::stack_t {
            // SAFETY: `page` is inside the reservation.
            ss_sp: unsafe { map.as_ptr().add(page) }.cast(),
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        // SAFETY: `st` describes memory owned by `map`, which lives until
        // this `AltStack` is dropped, and the drop disables it first.
        let r = unsafe { libc::sigaltstack(&st, std::ptr::null_mut()) };
        assert_eq!(r, 0, "sigaltstack failed");
        AltStack { map: Some(map) }
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let Some(map) = &self.map else { return };
        // SAFETY: query into a local.
        let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        unsafe { libc::sigaltstack(std::ptr::null(), &mut cur) };
        let ours = cur.ss_sp as usize == map.as_ptr() as usize + page_size();
        if ours && cur.ss_flags & libc::SS_DISABLE == 0 {
            let off = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            // SAFETY: disabling the alternate stack before its memory is
            // unmapped (when `map` drops right after).
            unsafe { libc::sigaltstack(&off, std::ptr::null_mut()) };
        }
    }
}
