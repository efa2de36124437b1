//! Turning hardware faults in compiled code into traps.
//!
//! One process-wide handler for SIGSEGV, SIGBUS, SIGILL and SIGFPE. If the
//! faulting thread is inside a wasm call and the faulting instruction is
//! compiled wasm code that may trap, the handler records the trap in the
//! thread's innermost call state and rewrites the interrupted context to
//! resume at `faasm_trap_landing` on the entry's saved stack pointer.
//! Anything else is passed on to the handler that was installed before us,
//! so a bug in host code still crashes loudly.
//!
//! The same landing serves interrupts (timeouts): another thread sends
//! [`INTERRUPT_SIGNAL`] (see `preempt.rs`), and if this thread's innermost
//! entry has its interrupt word set and the thread is executing compiled
//! code, the handler resumes it at the landing with `TrapKind::Interrupt`.
//! Any compiled instruction is a safe place to stop: wasm frames own
//! nothing. Elsewhere (host code, a builtin) the signal is ignored; the
//! interrupter sends it again until the call has ended, and host-call
//! returns check the word themselves.

use super::backtrace::{self, RawFrames};
use super::entry::{faasm_enter, faasm_trap_landing};
use super::preempt::{self, INTERRUPT_SIGNAL};
use super::stack::cached_thread_stack_bounds;
use faasm_abi::TrapKind;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The innermost host→wasm entry of a thread: where to resume after a
/// trap, and what the trap was.
pub struct TrapState {
    jmp: Cell<usize>,
    trap: Cell<Option<TrapSite>>,
    /// The entered instance's interrupt word.
    interrupt: *const AtomicU64,
}

/// Where and how compiled code trapped.
#[derive(Clone, Copy, Debug)]
pub struct TrapSite {
    pub kind: TrapKind,
    /// The faulting instruction.
    pub pc: usize,
    /// Return addresses of the wasm frames above it, innermost first.
    pub callers: RawFrames,
}

thread_local! {
    /// Innermost active entry of this thread (null outside wasm).
    /// Const-initialised without a destructor: safe to read in the handler.
    static CURRENT: Cell<*const TrapState> = const { Cell::new(std::ptr::null()) };
}

/// Calls `f(a0, a1, a2)` through `faasm_enter`, with a trap landing for
/// this call, as an entry into the instance whose interrupt word is
/// `interrupt`: setting that word and signalling the thread stops the call.
/// Returns where compiled code trapped, if it did (an `Interrupt` with no
/// pc if the word was already set).
///
/// # Safety
/// `f` must be an `extern "C" fn(usize, usize, usize)` that is safe to call
/// with these arguments (an entry trampoline with a live vmctx).
// The handler fills the TrapSite in place and must not allocate, so it is
// not boxed.
#[allow(clippy::result_large_err)]
pub unsafe fn call_with_trap_landing(
    f: usize,
    a0: usize,
    a1: usize,
    a2: usize,
    interrupt: &AtomicU64,
) -> Result<(), TrapSite> {
    let state = TrapState {
        jmp: Cell::new(0),
        trap: Cell::new(None),
        interrupt,
    };
    // Publish first, then look at the word (see `preempt`'s invariants).
    let published = preempt::publish(interrupt as *const AtomicU64 as usize);
    if interrupt.load(Ordering::SeqCst) != 0 {
        preempt::restore(published);
        return Err(TrapSite {
            kind: TrapKind::Interrupt,
            pc: 0,
            callers: RawFrames::EMPTY,
        });
    }
    let prev = CURRENT.with(|c| c.replace(&state));
    // SAFETY: `jmp` points at a live Cell of this frame; `f`'s contract is
    // the caller's. On a trap the handler resumes inside `faasm_enter`,
    // which then returns 1 normally, so this frame is intact either way.
    let r = unsafe { faasm_enter(state.jmp.as_ptr(), f, a0, a1, a2) };
    CURRENT.with(|c| c.set(prev));
    preempt::restore(published);
    match r {
        0 => Ok(()),
        _ => Err(state
            .trap
            .get()
            .expect("trap landing reached without a recorded trap")),
    }
}

/// The stack pointer the innermost host→wasm entry of this thread saved:
/// every frame below it (down to the current one) belongs to compiled code
/// or to host code that compiled code called. `None` outside wasm.
pub fn innermost_entry_sp() -> Option<usize> {
    let state = CURRENT.with(|c| c.get());
    // SAFETY: a non-null CURRENT points at the TrapState of a live
    // `call_with_trap_landing` frame of this thread.
    (!state.is_null()).then(|| unsafe { (*state).jmp.get() })
}

static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();
static PREVIOUS_INTERRUPT: OnceLock<libc::sigaction> = OnceLock::new();
static INSTALL: Once = Once::new();

/// Installs the handlers once per process.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: querying the current disposition into a zeroed local,
        // then installing a handler with SA_SIGINFO whose signature matches
        // what the kernel calls. SA_RESTART: host code the signal lands in
        // (a blocking read, say) carries on as if nothing happened.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(INTERRUPT_SIGNAL, std::ptr::null(), &mut old);
            let _ = PREVIOUS_INTERRUPT.set(old);
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_interrupt_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            let r = libc::sigaction(INTERRUPT_SIGNAL, &sa, std::ptr::null_mut());
            assert_eq!(r, 0, "cannot install the interrupt signal handler");
        }
        // SAFETY: querying the current dispositions into zeroed locals.
        let prev = SIGNALS.map(|sig| unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old);
            old
        });
        let _ = PREVIOUS.set(prev);
        for sig in SIGNALS {
            // SAFETY: installing a handler with SA_SIGINFO whose signature
            // matches what the kernel calls; the mask is initialised first.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = handler as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut sa.sa_mask);
                let r = libc::sigaction(sig, &sa, std::ptr::null_mut());
                assert_eq!(r, 0, "cannot install the signal handler for {sig}");
            }
        }
    });
}

unsafe extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let state = CURRENT.with(|c| c.get());
    if !state.is_null() {
        // SAFETY: a non-null CURRENT points at the TrapState of a live
        // `call_with_trap_landing` frame of this very thread.
        let state = unsafe { &*state };
        // SAFETY: the kernel passes a valid ucontext for SA_SIGINFO handlers.
        let pc = unsafe { context_pc(ctx) };
        if let Some(site) = crate::registry::classify_pc(pc, FAULT_SPINS) {
            let kind = match site {
                Some(kind) => Some(kind),
                // In our code but not a recorded trap site: only a stack
                // overflow into the thread's guard region can cause that.
                // SAFETY: `info` is valid for SA_SIGINFO handlers.
                None => is_stack_guard_fault(sig, unsafe { fault_address(info) })
                    .then_some(TrapKind::StackOverflow),
            };
            if let Some(kind) = kind {
                // SAFETY: `ctx` is the kernel's ucontext; `state` is the
                // innermost entry and `pc` is compiled code.
                unsafe { land(ctx, state, kind, pc) };
                return;
            }
        }
    }
    // SAFETY: forwarding the kernel's own arguments.
    unsafe { chain(sig, info, ctx) }
}

/// How long the fault handler waits for the code registry's lock (a
/// writer on another thread holds it only briefly).
const FAULT_SPINS: u32 = 10_000_000;
/// The interrupt handler does not wait: if the lock is busy, the
/// interrupter's next signal tries again.
const INTERRUPT_SPINS: u32 = 1_000;

/// Records a trap at `pc` and rewrites the context to resume at the
/// landing pad of the innermost entry.
///
/// # Safety
/// In a signal handler: `ctx` is the kernel's ucontext, `state` this
/// thread's innermost entry, and `pc` (the interrupted instruction)
/// compiled wasm code.
unsafe fn land(ctx: *mut libc::c_void, state: &TrapState, kind: TrapKind, pc: usize) {
    let mut callers = RawFrames::EMPTY;
    // SAFETY: the kernel passes a valid ucontext. Between the interrupted
    // frame's stack pointer and the entry's saved one lies this thread's
    // live stack, written by compiled code.
    unsafe {
        let (fp, sp) = context_fp_sp(ctx);
        backtrace::walk(fp, sp, state.jmp.get(), &mut callers);
    }
    state.trap.set(Some(TrapSite { kind, pc, callers }));
    // SAFETY: resuming at the landing pad with the stack pointer saved by
    // the innermost `faasm_enter` on this thread; only wasm frames (which
    // own nothing) are discarded.
    unsafe {
        redirect(
            ctx,
            state.jmp.get(),
            faasm_trap_landing as *const () as usize,
        )
    };
}

unsafe extern "C" fn on_interrupt_signal(
    sig: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let ours = unsafe { (*info).si_code == libc::SI_TKILL && (*info).si_pid() == libc::getpid() };
    if !ours {
        // Out-of-band data on a socket of the embedder's, say.
        // SAFETY: forwarding the kernel's own arguments.
        unsafe { chain_interrupt(sig, info, ctx) };
        return;
    }
    let state = CURRENT.with(|c| c.get());
    if state.is_null() {
        return; // Left wasm since the signal was sent.
    }
    // SAFETY: a non-null CURRENT points at the TrapState of a live
    // `call_with_trap_landing` frame of this very thread, whose interrupt
    // word belongs to the instance it entered (alive during the call).
    let state = unsafe { &*state };
    // SAFETY: as above.
    if unsafe { (*state.interrupt).load(Ordering::SeqCst) } == 0 {
        return; // Meant for an earlier call, or another entry.
    }
    // SAFETY: the kernel passes a valid ucontext.
    let pc = unsafe { context_pc(ctx) };
    if crate::registry::classify_pc(pc, INTERRUPT_SPINS).is_some() {
        // SAFETY: `state` is the innermost entry and `pc` compiled code.
        unsafe { land(ctx, state, TrapKind::Interrupt, pc) };
    }
}

/// Passes a SIGURG that is not ours to the previous disposition if it
/// was a handler (the default action is to ignore it).
unsafe fn chain_interrupt(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(p) = PREVIOUS_INTERRUPT.get() else {
        return;
    };
    if p.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: installed with SA_SIGINFO, so it has this signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(p.sa_sigaction) };
        f(sig, info, ctx);
    } else if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN {
        // SAFETY: a classic one-argument handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(p.sa_sigaction) };
        f(sig);
    }
}

fn is_stack_guard_fault(sig: libc::c_int, addr: usize) -> bool {
    if sig != libc::SIGSEGV && sig != libc::SIGBUS {
        return false;
    }
    let (lo, _) = cached_thread_stack_bounds();
    // The guard lies just below the usable stack; allow for large frames
    // probing well past it.
    lo != 0 && addr < lo + super::mmap::page_size() && addr >= lo.saturating_sub(1 << 20)
}

/// Passes the signal to the previously installed disposition.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let idx = SIGNALS.iter().position(|s| *s == sig).unwrap_or(0);
    let prev = PREVIOUS.get().map(|p| p[idx]);
    match prev {
        Some(p) if p.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the previous handler was installed with SA_SIGINFO, so
            // it has this signature.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(p.sa_sigaction) };
            f(sig, info, ctx);
        }
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            // SAFETY: a classic one-argument handler.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(p.sa_sigaction) };
            f(sig);
        }
        _ => {
            // Default (or ignored, which cannot work for a synchronous
            // fault): restore the default action and return, so the faulting
            // instruction runs again and the kernel kills the process with
            // the original signal.
            // SAFETY: resetting a signal disposition to SIG_DFL.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = libc::SIG_DFL;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn context_pc(ctx: *mut libc::c_void) -> usize {
    // SAFETY: the caller passes the kernel's ucontext.
    unsafe {
        (*(ctx as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] as usize
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn context_fp_sp(ctx: *mut libc::c_void) -> (usize, usize) {
    // SAFETY: the caller passes the kernel's ucontext.
    let gregs = unsafe { &(*(ctx as *const libc::ucontext_t)).uc_mcontext.gregs };
    (
        gregs[libc::REG_RBP as usize] as usize,
        gregs[libc::REG_RSP as usize] as usize,
    )
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn redirect(ctx: *mut libc::c_void, sp: usize, pc: usize) {
    // SAFETY: the caller passes the kernel's ucontext, which the kernel
    // restores when the handler returns.
    unsafe {
        let gregs = &mut (*(ctx as *mut libc::ucontext_t)).uc_mcontext.gregs;
        gregs[libc::REG_RSP as usize] = sp as i64;
        gregs[libc::REG_RIP as usize] = pc as i64;
    }
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn context_pc(ctx: *mut libc::c_void) -> usize {
    // SAFETY: the caller passes the kernel's ucontext.
    unsafe { (*(ctx as *const libc::ucontext_t)).uc_mcontext.pc as usize }
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn context_fp_sp(ctx: *mut libc::c_void) -> (usize, usize) {
    // SAFETY: the caller passes the kernel's ucontext.
    let mc = unsafe { &(*(ctx as *const libc::ucontext_t)).uc_mcontext };
    (mc.regs[29] as usize, mc.sp as usize)
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn redirect(ctx: *mut libc::c_void, sp: usize, pc: usize) {
    // SAFETY: the caller passes the kernel's ucontext, which the kernel
    // restores when the handler returns.
    unsafe {
        let mc = &mut (*(ctx as *mut libc::ucontext_t)).uc_mcontext;
        mc.sp = sp as u64;
        mc.pc = pc as u64;
    }
}

unsafe fn fault_address(info: *mut libc::siginfo_t) -> usize {
    // SAFETY: the caller passes the kernel's siginfo.
    unsafe { (*info).si_addr() as usize }
}
