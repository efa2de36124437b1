//! One call, one Faaslet: instantiate the function's module with WASI and
//! the Faasm calls, run its entry under the call's limits, and turn however
//! it ended into a [`CallResult`].

use super::Shared;
use super::function::Function;
use super::setup::{wasi_ctx, watch};
use faasm_hostif::HostCtx;
use faasm_hostif::faasm::{CallCtx, CallResult, ChainTarget, FaasmCtx};
use faasm_hostif::wasi::OutputPipe;
use faasm_runtime::{
    Error, Func, HostErrorKind, Instance, InstanceOptions, InterruptHandle, Module, Snapshot, Trap,
    TrapKind, TrapReason, Val, ValType,
};
use std::sync::Arc;
use std::time::Instant;

/// What to run.
pub(crate) struct Spec {
    pub call: CallCtx,
    pub target: ChainTarget,
    pub input: Vec<u8>,
}

/// A call that did not get to run the guest.
fn failed(message: impl Into<String>) -> CallResult {
    CallResult {
        return_code: 1,
        output: message.into().into_bytes(),
        failed: true,
        ..CallResult::default()
    }
}

/// How the entry ended.
enum Ended {
    Returned(i32),
    Failed(String),
    /// Interrupted by the watchdog, or a blocking host call hit the
    /// deadline.
    TimedOut,
}

pub(crate) fn run(shared: &Arc<Shared>, spec: Spec) -> CallResult {
    let Spec {
        call,
        target,
        input,
    } = spec;
    let func = match &target {
        ChainTarget::Name(name) => name.clone(),
        ChainTarget::TableIndex(_) => call.function.clone(),
    };
    if let Err(e) = super::store::validate_name("function", &func) {
        return failed(e.to_string());
    }
    let function = match shared.function(&call.user, &func) {
        Ok(f) => f,
        Err(e) => return failed(e.to_string()),
    };
    let call = CallCtx {
        function: func.clone(),
        ..call
    };
    let stdout = OutputPipe::with_limit(shared.config.limits.max_output);
    let ctx = FaasmCtx::new(
        call.clone(),
        input,
        shared.config.limits.max_output,
        shared.chainer(),
        shared.state.clone(),
    );
    let ended = match wasi_ctx(shared, &call, &func, &stdout) {
        Ok(wasi) => {
            let host = HostCtx {
                wasi,
                faasm: Some(ctx.clone()),
            };
            execute(shared, &function, host, call.deadline, &target)
        }
        Err(e) => Ended::Failed(e),
    };
    // Locks go back before anyone sees the result.
    ctx.release_locks();
    match ended {
        Ended::Returned(code) => CallResult {
            return_code: code,
            output: ctx.take_output().unwrap_or_else(|| stdout.take()),
            failed: false,
            ..CallResult::default()
        },
        Ended::TimedOut => {
            let ms = shared.config.limits.timeout.map_or(0, |t| t.as_millis());
            CallResult {
                printed: ctx.take_output().unwrap_or_else(|| stdout.take()),
                timed_out: true,
                ..failed(format!("timeout after {ms}ms"))
            }
        }
        Ended::Failed(msg) => CallResult {
            printed: ctx.take_output().unwrap_or_else(|| stdout.take()),
            ..failed(msg)
        },
    }
}

/// A trap as a call's output; an exit is a return code.
fn ended_by(err: Error) -> Ended {
    match err {
        Error::Trap(t) => match &t.reason {
            TrapReason::Exit(status) => Ended::Returned(*status),
            TrapReason::Wasm(TrapKind::Interrupt) => Ended::TimedOut,
            TrapReason::Host(h) if h.kind == HostErrorKind::DeadlinePassed => Ended::TimedOut,
            _ => Ended::Failed(trap_message(&t)),
        },
        other => Ended::Failed(other.to_string()),
    }
}

/// The trap and its wasm backtrace.
fn trap_message(t: &Trap) -> String {
    format!("trap: {t:#}")
}

/// Runs the call in a Faaslet restored from the function's Proto-Faaslet
/// (reused from an earlier call where one is idle), or, without a
/// snapshot, in a freshly initialised instance.
fn execute(
    shared: &Shared,
    function: &Function,
    host: HostCtx,
    deadline: Option<Instant>,
    target: &ChainTarget,
) -> Ended {
    match function.snapshot() {
        Some(snapshot) => execute_restored(shared, function, snapshot, host, deadline, target),
        None => execute_fresh(shared, function.module(), host, deadline, target),
    }
}

fn execute_fresh(
    shared: &Shared,
    module: &Module,
    host: HostCtx,
    deadline: Option<Instant>,
    target: &ChainTarget,
) -> Ended {
    // The watchdog is armed before the instance exists, so its start
    // function (and everything after) runs under the call's deadline.
    let interrupt = InterruptHandle::new();
    let _watch = watch(shared, deadline, &interrupt);
    let opts = InstanceOptions {
        data: Some(Arc::new(host)),
        interrupt: Some(interrupt),
    };
    let instance = match shared.linker.instantiate_opts(module, opts) {
        Ok(i) => i,
        Err(Error::Trap(t)) if t.exit_status().is_some() => {
            return Ended::Returned(t.exit_status().unwrap_or(1));
        }
        Err(Error::Trap(t)) if matches!(t.reason, TrapReason::Wasm(TrapKind::Interrupt)) => {
            return Ended::TimedOut;
        }
        Err(e) => return Ended::Failed(format!("cannot instantiate: {e}")),
    };
    // What a snapshot would have captured runs per call instead (an exit
    // here ends the call with its status).
    if let Err(e) = faasm_snapshot::run_init(&instance) {
        return ended_by(e);
    }
    entry(&instance, target)
}

fn execute_restored(
    shared: &Shared,
    function: &Function,
    snapshot: &Snapshot,
    host: HostCtx,
    deadline: Option<Instant>,
    target: &ChainTarget,
) -> Ended {
    let mut instance = match function.take_idle() {
        Some(i) => i,
        None => match shared
            .linker
            .instantiate_snapshot(snapshot, InstanceOptions::default())
        {
            Ok(i) => i,
            Err(e) => return Ended::Failed(format!("cannot restore the snapshot: {e}")),
        },
    };
    if let Err(e) = instance.set_data(Some(Arc::new(host))) {
        return Ended::Failed(format!("cannot prepare the Faaslet: {e}"));
    }
    let interrupt = instance.interrupt_handle();
    let watched = watch(shared, deadline, &interrupt);
    let ended = entry(&instance, target);
    drop(watched);
    // A call that ended normally leaves a Faaslet worth resetting for the
    // next one; after a trap or timeout it is dropped instead.
    if matches!(ended, Ended::Returned(_)) {
        interrupt.clear();
        if instance.set_data(None).is_ok() && instance.reset(snapshot).is_ok() {
            function.give_idle(instance);
        }
    }
    ended
}

/// The call's entry: `_start`, or a function chained by pointer.
fn entry(instance: &Instance, target: &ChainTarget) -> Ended {
    match target {
        ChainTarget::Name(_) => {
            let Some(start) = instance.get_func("_start") else {
                return Ended::Failed("function has no `_start` export".into());
            };
            match start.call(&[]) {
                Ok(_) => Ended::Returned(0),
                Err(e) => ended_by(e),
            }
        }
        ChainTarget::TableIndex(index) => call_table_entry(instance, *index),
    }
}

/// `chain_ptr`: `table0[index]()`. The initialisation exports have run
/// (in the snapshot, or just before); a module with neither gets its
/// constructors run here, if it exports them.
fn call_table_entry(instance: &Instance, index: u32) -> Ended {
    let initialised = faasm_snapshot::INIT_EXPORTS
        .iter()
        .any(|n| instance.get_func(n).is_some());
    if !initialised
        && let Some(f) = instance.get_func("__wasm_call_ctors")
        && let Err(e) = f.call(&[])
    {
        return ended_by(e);
    }
    let entry: Option<Func> = instance
        .table(0)
        .and_then(|t| t.get(u64::from(index)))
        .and_then(|v| match v {
            Val::FuncRef(f) => f,
            _ => None,
        });
    let Some(f) = entry else {
        return Ended::Failed(format!("trap: table 0 has no function at index {index}"));
    };
    let ty = f.ty();
    if !ty.params.is_empty() || ty.results != [ValType::I32] {
        return Ended::Failed(format!(
            "trap: function at table index {index} has type {ty}, expected () -> i32"
        ));
    }
    match f.call(&[]) {
        Ok(results) => match results.first() {
            Some(Val::I32(code)) => Ended::Returned(*code),
            _ => Ended::Failed("trap: entry returned no i32".into()),
        },
        Err(e) => ended_by(e),
    }
}
