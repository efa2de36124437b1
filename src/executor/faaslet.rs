//! One call, one Faaslet: instantiate the function's module with WASI and
//! the Faasm calls, run its entry under the call's limits, and turn however
//! it ended into a [`CallResult`].

use super::Shared;
use faasm_hostif::HostCtx;
use faasm_hostif::faasm::{CallCtx, CallResult, ChainTarget, FaasmCtx};
use faasm_hostif::wasi::{OutputPipe, WasiCtx};
use faasm_runtime::{
    Error, Func, Instance, InstanceOptions, InterruptHandle, Module, Trap, TrapKind, TrapReason,
    Val, ValType,
};
use std::sync::Arc;
use std::time::Instant;

/// What to run.
pub(crate) struct Spec {
    pub call: CallCtx,
    pub target: ChainTarget,
    pub input: Vec<u8>,
}

/// A call that did not get to run the guest, or trapped.
fn failed(message: impl Into<String>) -> CallResult {
    CallResult {
        return_code: 1,
        output: message.into().into_bytes(),
        failed: true,
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
    let module = match shared.module(&call.user, &func) {
        Ok(m) => m,
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
        Ok(wasi) => execute(shared, &module, wasi, &ctx, &target),
        Err(e) => Ended::Failed(e),
    };
    // Locks go back before anyone sees the result.
    ctx.release_locks();
    match ended {
        Ended::Returned(code) => CallResult {
            return_code: code,
            output: ctx.take_output().unwrap_or_else(|| stdout.take()),
            failed: false,
        },
        Ended::TimedOut => {
            let ms = shared.config.limits.timeout.map_or(0, |t| t.as_millis());
            failed(format!("timeout after {ms}ms"))
        }
        Ended::Failed(msg) => failed(msg),
    }
}

fn wasi_ctx(
    shared: &Shared,
    call: &CallCtx,
    func: &str,
    stdout: &OutputPipe,
) -> Result<WasiCtx, String> {
    let fs = shared.filesystem(&call.user)?;
    let mut builder = WasiCtx::builder()
        .arg(func)
        .stdout_pipe(stdout.clone())
        .inherit_stderr()
        .preopen(&fs);
    // A guest asleep in poll_oneoff cannot be interrupted at a loop
    // header: the sleep itself must end at the deadline.
    if let Some(d) = call.deadline {
        builder = builder.deadline(d);
    }
    builder
        .build()
        .map_err(|e| format!("bad WASI configuration: {e}"))
}

/// A trap as a call's output; an exit is a return code.
fn ended_by(err: Error) -> Ended {
    match err {
        Error::Trap(t) => match &t.reason {
            TrapReason::Exit(status) => Ended::Returned(*status),
            TrapReason::Wasm(TrapKind::Interrupt) => Ended::TimedOut,
            TrapReason::Host(m) if m.ends_with("deadline passed while waiting") => Ended::TimedOut,
            _ => Ended::Failed(trap_message(&t)),
        },
        other => Ended::Failed(other.to_string()),
    }
}

fn trap_message(t: &Trap) -> String {
    format!("trap: {t}")
}

fn execute(
    shared: &Shared,
    module: &Module,
    wasi: WasiCtx,
    ctx: &FaasmCtx,
    target: &ChainTarget,
) -> Ended {
    let host = HostCtx {
        wasi,
        faasm: Some(ctx.clone()),
    };
    // The watchdog is armed before the instance exists, so its start
    // function (and everything after) runs under the call's deadline.
    let interrupt = InterruptHandle::new();
    let _watch = ctx.call().deadline.map(|d| {
        if d <= Instant::now() {
            interrupt.interrupt();
        }
        shared.watchdog.watch(d, interrupt.clone())
    });
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
        ChainTarget::TableIndex(index) => call_table_entry(&instance, *index),
    }
}

/// `chain_ptr`: the module's initialisers, then `table0[index]()`.
fn call_table_entry(instance: &Instance, index: u32) -> Ended {
    for init in ["_initialize", "__wasm_call_ctors"] {
        if let Some(f) = instance.get_func(init) {
            if let Err(e) = f.call(&[]) {
                return ended_by(e);
            }
            break;
        }
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
