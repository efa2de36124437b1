//! Calls across the host/wasm boundary: host → wasm through the module's
//! entry trampoline under a trap landing, and wasm → host through the
//! dispatcher that host trampolines call.

use crate::frames::resolve_frames;
use crate::objects::{HostCode, HostFuncInner, InstanceInner};
use crate::sys::signals::TrapSite;
use crate::sys::{signals, stack};
use crate::typed;
use crate::values::{val_from_raw, val_to_raw};
use crate::vm::{HostFuncCtx, ValSlot};
use crate::{Caller, Error, Trap, Val};
use faasm_abi::{FuncType, TrapKind};
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Host code below the wasm stack limit keeps at least this much stack.
const HOST_STACK_MARGIN: usize = 128 << 10;

thread_local! {
    /// The stack limit of the outermost wasm entry on this thread (0 when
    /// not in wasm); nested entries reuse it.
    static STACK_LIMIT: Cell<usize> = const { Cell::new(0) };
    /// The error a host function returned, for the entry that unwinds.
    static HOST_TRAP: RefCell<Option<Trap>> = const { RefCell::new(None) };
}

fn check_args(ty: &FuncType, args: &[Val]) -> Result<(), Error> {
    if args.len() != ty.params.len() {
        return Err(Error::Usage(format!(
            "function {ty} expects {} arguments, got {}",
            ty.params.len(),
            args.len()
        )));
    }
    for (i, (a, t)) in args.iter().zip(&ty.params).enumerate() {
        if a.ty() != *t {
            return Err(Error::Usage(format!(
                "argument {i} of function {ty} must be a {t}, got a {}",
                a.ty()
            )));
        }
    }
    Ok(())
}

/// Restores the thread's stack-limit state when the outermost call ends.
struct OutermostGuard(bool);

impl Drop for OutermostGuard {
    fn drop(&mut self) {
        if self.0 {
            STACK_LIMIT.with(|l| l.set(0));
        }
    }
}

fn enter_stack_limit(max_wasm_stack: usize) -> (usize, OutermostGuard) {
    let current = STACK_LIMIT.with(|l| l.get());
    if current != 0 {
        return (current, OutermostGuard(false));
    }
    signals::install();
    stack::ensure_alt_stack();
    let (lo, _) = stack::thread_stack_bounds();
    let limit = stack::current_sp()
        .saturating_sub(max_wasm_stack)
        .max(lo + HOST_STACK_MARGIN);
    STACK_LIMIT.with(|l| l.set(limit));
    (limit, OutermostGuard(true))
}

pub(crate) fn call_wasm(
    instance: &Arc<InstanceInner>,
    index: u32,
    args: &[Val],
) -> Result<Vec<Val>, Error> {
    let module = &instance.module;
    let info = module.info();
    let type_index = info.funcs[index as usize];
    let ty = &info.types[type_index as usize];
    check_args(ty, args)?;
    let n = ty.params.len().max(ty.results.len()).max(1);
    // Most signatures are small: avoid a heap allocation per call.
    let mut inline = [ValSlot::default(); 8];
    let mut heap = Vec::new();
    let slots: &mut [ValSlot] = if n <= inline.len() {
        &mut inline[..n]
    } else {
        heap.resize(n, ValSlot::default());
        &mut heap
    };
    for (slot, arg) in slots.iter_mut().zip(args) {
        slot.0 = val_to_raw(arg)?;
        if let Val::FuncRef(Some(f)) = arg {
            // The callee may store the reference anywhere it can reach.
            instance.keepalive.hold_func(f);
        }
    }
    let funcref = instance.vmctx.funcref(index);
    let trampoline = module.entry_trampoline(type_index);

    let (limit, _guard) = enter_stack_limit(module.engine().config().max_wasm_stack);
    instance.set_stack_limit(limit);
    // SAFETY: the trampoline has signature `extern "C" fn(vmctx, code,
    // values)`; `funcref` is a live function of the callee type whose vmctx
    // is kept alive by `instance`; `slots` has room for params and results.
    let r = unsafe {
        signals::call_with_trap_landing(
            trampoline as usize,
            funcref.vmctx as usize,
            funcref.code as usize,
            slots.as_mut_ptr() as usize,
            instance.vmctx.interrupt_flag(),
        )
    };
    match r {
        Ok(()) => Ok(ty
            .results
            .iter()
            .zip(slots.iter())
            // SAFETY: compiled code wrote values of the result types; a
            // funcref result is owned by something the callee keeps alive.
            .map(|(t, s)| unsafe { val_from_raw(*t, s.0) })
            .collect()),
        Err(site) => Err(Error::Trap(make_trap(site))),
    }
}

fn make_trap(site: TrapSite) -> Trap {
    // Taken whatever the kind: an interrupt can land between a host
    // function's error and the trampoline's trap.
    let host_trap = HOST_TRAP.with(|h| h.borrow_mut().take());
    let mut trap = match site.kind {
        TrapKind::HostError => host_trap.unwrap_or_else(|| Trap::new(site.kind)),
        kind => Trap::new(kind),
    };
    // A host error traps in the host trampoline, which is no wasm
    // function: then the innermost frame is the wasm function that called
    // the host.
    trap.backtrace = Box::new(resolve_frames(Some(site.pc), &site.callers));
    if trap.func_index.is_none()
        && let Some(top) = trap.backtrace.frames.first()
    {
        trap.func_index = Some(top.func_index);
        trap.func_name = top.func_name.clone();
    }
    trap
}

pub(crate) fn call_host(h: &HostFuncInner, args: &[Val]) -> Result<Vec<Val>, Error> {
    check_args(&h.ty, args)?;
    let mut caller = Caller {
        instance: None,
        exit_fp: 0,
    };
    match &h.code {
        HostCode::Dynamic(_) => {
            let mut results: Vec<Val> = h.ty.results.iter().map(|t| Val::default_for(*t)).collect();
            run_host(h, &mut caller, args, &mut results)?;
            Ok(results)
        }
        HostCode::Typed(body) => Ok(call_typed_with_vals(body, &h.ty, &mut caller, args)?),
    }
}

/// A typed body called from the host with [`Val`]s (already checked
/// against `ty`): encodes them into slots and decodes the results.
fn call_typed_with_vals(
    body: &typed::RawHostFn,
    ty: &FuncType,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, Trap> {
    let mut slots = vec![typed::RawVal::default(); ty.params.len().max(ty.results.len())];
    for (slot, arg) in slots.iter_mut().zip(args) {
        // `args` match the numeric parameter types (checked by the caller).
        *slot = typed::RawVal::from_val(arg).ok_or_else(|| Trap::host("a reference argument"))?;
    }
    typed::run_typed(body, caller, &mut slots)?;
    Ok(ty
        .results
        .iter()
        .zip(&slots)
        .filter_map(|(t, s)| s.to_val(*t))
        .collect())
}

/// Runs a [`HostCode::Dynamic`] closure, turning a panic into a host error
/// and checking the result types.
fn run_host(
    h: &HostFuncInner,
    caller: &mut Caller<'_>,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let HostCode::Dynamic(func) = &h.code else {
        unreachable!("run_host is only called for dynamic host functions")
    };
    match catch_unwind(AssertUnwindSafe(|| func(caller, args, results))) {
        Ok(Ok(())) => {}
        Ok(Err(t)) => return Err(t),
        Err(payload) => return Err(typed::host_panic(payload)),
    }
    for (i, (r, t)) in results.iter().zip(&h.ty.results).enumerate() {
        if r.ty() != *t {
            return Err(Trap::host(format!(
                "host function returned a {} as result {i}, expected a {t}",
                r.ty()
            )));
        }
    }
    Ok(())
}

/// Host calls with at most this many parameters and results pass them in
/// arrays on the stack.
const INLINE_VALS: usize = 8;

/// Reads the arguments out of `slots`, runs the host function and writes
/// its results back (`args` and `results` have the function's arity).
fn dispatch_values(
    h: &HostFuncInner,
    caller: &mut Caller<'_>,
    slots: &mut [ValSlot],
    args: &mut [Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    for ((arg, t), s) in args.iter_mut().zip(&h.ty.params).zip(slots.iter()) {
        // SAFETY: compiled code passed values of the parameter types.
        *arg = unsafe { val_from_raw(*t, s.0) };
    }
    for (r, t) in results.iter_mut().zip(&h.ty.results) {
        *r = Val::default_for(*t);
    }
    run_host(h, caller, args, results)?;
    let instance = caller.instance;
    for (slot, r) in slots.iter_mut().zip(results.iter()) {
        slot.0 = val_to_raw(r).map_err(|e| Trap::host(e.to_string()))?;
        if let (Val::FuncRef(Some(f)), Some(inst)) = (r, instance) {
            inst.keepalive.hold_func(f);
        }
    }
    Ok(())
}

/// The dispatcher host trampolines reach through `HostFuncCtx.dispatch`
/// and `sys::entry::host_dispatch_entry`.
///
/// # Safety
/// Called only that way: `host_ctx` is a live `HostFuncCtx`,
/// `caller_vmctx` the live vmctx of the calling wasm function, `values`
/// holds the parameters and has room for the results, and `exit_fp` is
/// the calling trampoline's frame pointer.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn faasm_host_dispatch(
    host_ctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut ValSlot,
    exit_fp: usize,
) -> u32 {
    // SAFETY: per the contract; the owner outlives its context.
    let h = unsafe { &*((*(host_ctx as *const HostFuncCtx)).owner as *const HostFuncInner) };
    // SAFETY: the caller's instance is alive while its code runs.
    let instance = unsafe { InstanceInner::from_vmctx(caller_vmctx) };
    let (nparams, nresults) = (h.ty.params.len(), h.ty.results.len());
    let nslots = nparams.max(nresults);
    let mut caller = Caller {
        instance: Some(instance),
        exit_fp,
    };
    let outcome = if let HostCode::Typed(body) = &h.code {
        // SAFETY: the trampoline provides a slot per parameter and result;
        // `RawVal` is a transparent wrapper of `ValSlot`.
        let raw = unsafe { std::slice::from_raw_parts_mut(values.cast::<typed::RawVal>(), nslots) };
        typed::run_typed(body, &mut caller, raw)
    } else {
        // SAFETY: as above.
        let slots = unsafe { std::slice::from_raw_parts_mut(values, nslots) };
        // Most host functions take and return a few values: keep them on
        // the stack, so a host call allocates nothing.
        if nparams <= INLINE_VALS && nresults <= INLINE_VALS {
            let mut args: [Val; INLINE_VALS] = std::array::from_fn(|_| Val::I32(0));
            let mut results: [Val; INLINE_VALS] = std::array::from_fn(|_| Val::I32(0));
            dispatch_values(
                h,
                &mut caller,
                slots,
                &mut args[..nparams],
                &mut results[..nresults],
            )
        } else {
            let mut args = vec![Val::I32(0); nparams];
            let mut results = vec![Val::I32(0); nresults];
            dispatch_values(h, &mut caller, slots, &mut args, &mut results)
        }
    };
    // Compiled code does not poll for interrupts, and the signal that
    // stops it may have arrived while this host function ran: look now,
    // before returning into a loop that might never call out again.
    let outcome = outcome.and_then(|()| {
        if instance.vmctx.interrupt_flag().load(Ordering::SeqCst) != 0 {
            Err(Trap::new(TrapKind::Interrupt))
        } else {
            Ok(())
        }
    });
    match outcome {
        Ok(()) => 0,
        Err(trap) => {
            HOST_TRAP.with(|h| *h.borrow_mut() = Some(trap));
            1
        }
    }
}
