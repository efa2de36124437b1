//! WASI preview 1 (`wasi_snapshot_preview1`): the subset a command-line
//! program needs to start, print and exit, done properly, plus every other
//! preview 1 function defined to return `ENOSYS` so ordinary programs link.
//!
//! Implemented: `args_*`, `environ_*`, `clock_res_get`, `clock_time_get`
//! (realtime, monotonic), `fd_write`, `fd_read` (stdin), `fd_close`,
//! `fd_fdstat_get`, `fd_seek`/`fd_tell` (`ESPIPE`: stdio are streams),
//! `fd_prestat_get`/`fd_prestat_dir_name` (`EBADF`: no preopens yet),
//! `proc_exit`, `random_get`, `sched_yield`.
//!
//! Each function's logic is a plain Rust function over [`GuestMemory`] and
//! the context state (unit-tested without a runtime); this module only
//! adapts them to the runtime's host-function calling convention.

mod args;
mod clock;
mod ctx;
mod fd;
mod proc;
mod random;
mod signatures;
mod stdio;

pub use ctx::{WasiCtx, WasiCtxBuilder, WasiCtxError};
pub use signatures::{FUNCTIONS, WasiSignature, signature};
pub use stdio::{InputSource, OutputPipe, OutputSink};

use crate::errno::{self, Errno};
use crate::memory::GuestMemory;
use ctx::WasiState;
use faasm_runtime::{FuncType, Linker, Trap, Val, ValType};
use std::sync::Mutex;

/// The import module name of WASI preview 1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// A function's arguments, already checked against its signature.
struct Args<'a>(&'a [Val]);

impl Args<'_> {
    fn u32(&self, i: usize) -> u32 {
        match self.0.get(i) {
            Some(Val::I32(v)) => *v as u32,
            // Unreachable: `check_params` ran first.
            _ => 0,
        }
    }

    fn i64(&self, i: usize) -> i64 {
        match self.0.get(i) {
            Some(Val::I64(v)) => *v,
            _ => 0,
        }
    }

    fn u64(&self, i: usize) -> u64 {
        self.i64(i) as u64
    }
}

/// The host side of a WASI function that returns an errno.
type Body = fn(&mut WasiState, &mut GuestMemory<'_>, &Args<'_>) -> Result<(), Errno>;

fn unsupported(_: &mut WasiState, _: &mut GuestMemory<'_>, _: &Args<'_>) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

/// The implementation of `name`, if it has one (other than `proc_exit`,
/// which does not return).
fn implementation(name: &str) -> Option<Body> {
    let body: Body = match name {
        "args_get" => |st, m, a| args::args_get(st, m, a.u32(0), a.u32(1)),
        "args_sizes_get" => |st, m, a| args::args_sizes_get(st, m, a.u32(0), a.u32(1)),
        "environ_get" => |st, m, a| args::environ_get(st, m, a.u32(0), a.u32(1)),
        "environ_sizes_get" => |st, m, a| args::environ_sizes_get(st, m, a.u32(0), a.u32(1)),
        "clock_res_get" => |st, m, a| clock::clock_res_get(st, m, a.u32(0), a.u32(1)),
        "clock_time_get" => |st, m, a| clock::clock_time_get(st, m, a.u32(0), a.u64(1), a.u32(2)),
        "fd_close" => |st, _, a| fd::fd_close(st, a.u32(0)),
        "fd_fdstat_get" => |st, m, a| fd::fd_fdstat_get(st, m, a.u32(0), a.u32(1)),
        "fd_prestat_get" => |st, m, a| fd::fd_prestat_get(st, m, a.u32(0), a.u32(1)),
        "fd_prestat_dir_name" => {
            |st, m, a| fd::fd_prestat_dir_name(st, m, a.u32(0), a.u32(1), a.u32(2))
        }
        "fd_read" => |st, m, a| fd::fd_read(st, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3)),
        "fd_seek" => |st, m, a| fd::fd_seek(st, m, a.u32(0), a.i64(1), a.u32(2), a.u32(3)),
        "fd_tell" => |st, m, a| fd::fd_tell(st, m, a.u32(0), a.u32(1)),
        "fd_write" => |st, m, a| fd::fd_write(st, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3)),
        "random_get" => |st, m, a| random::random_get(st, m, a.u32(0), a.u32(1)),
        "sched_yield" => |st, _, _| proc::sched_yield(st),
        _ => return None,
    };
    Some(body)
}

/// The runtime checks import types at link time, so a mismatch here is a
/// runtime bug; report it as a host error rather than misreading values.
fn check_params(sig: &WasiSignature, params: &[Val]) -> Result<(), Trap> {
    let ok = params.len() == sig.params.len()
        && params.iter().zip(sig.params).all(|(v, t)| v.ty() == *t);
    if ok {
        Ok(())
    } else {
        let got: Vec<ValType> = params.iter().map(Val::ty).collect();
        Err(Trap::host(format!(
            "WASI {} called with {:?}, expected {:?}",
            sig.name, got, sig.params
        )))
    }
}

/// Runs one WASI function against `memory` (the caller's memory 0, empty if
/// it has none). Separate from the linker closure so it is testable without
/// a running instance.
fn call(
    sig: &'static WasiSignature,
    body: Body,
    state: &Mutex<WasiState>,
    memory: &mut [u8],
    params: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    check_params(sig, params)?;
    if sig.name == "proc_exit" {
        return Err(proc::proc_exit(Args(params).u32(0)));
    }
    let [result] = results else {
        return Err(Trap::host(format!(
            "WASI {} expects one result slot",
            sig.name
        )));
    };
    let mut st = ctx::lock(state);
    let mut mem = GuestMemory::new(memory);
    *result = Val::I32(errno::to_wasm(body(&mut st, &mut mem, &Args(params))));
    Ok(())
}

/// Whether `name` does something (as opposed to returning `ENOSYS`).
pub fn is_implemented(name: &str) -> bool {
    name == "proc_exit" || implementation(name).is_some()
}

/// Defines every WASI preview 1 function in `linker` under [`MODULE`], all
/// sharing `ctx`.
pub fn add_to_linker(linker: &mut Linker, ctx: WasiCtx) {
    for sig in FUNCTIONS {
        let ty = FuncType::new(sig.params, sig.results);
        let body = implementation(sig.name).unwrap_or(unsupported);
        let state = ctx.state.clone();
        linker.func_new(MODULE, sig.name, ty, move |caller, params, results| {
            let memory = caller.memory_mut().unwrap_or_default();
            call(sig, body, &state, memory, params, results)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `name` the way the linker closure does; returns its errno.
    fn call_named(
        ctx: &WasiCtx,
        name: &str,
        memory: &mut [u8],
        params: &[Val],
    ) -> Result<i32, Trap> {
        let sig = signatures::signature(name).unwrap();
        let body = implementation(name).unwrap_or(unsupported);
        let mut results = vec![Val::I32(-1); sig.results.len()];
        call(sig, body, &ctx.state, memory, params, &mut results)?;
        match results.as_slice() {
            [Val::I32(e)] => Ok(*e),
            other => panic!("unexpected results {other:?}"),
        }
    }

    fn zeros(sig: &WasiSignature) -> Vec<Val> {
        sig.params.iter().map(|t| Val::default_for(*t)).collect()
    }

    #[test]
    fn every_preview1_function_is_defined_once() {
        assert_eq!(FUNCTIONS.len(), 46);
        let mut names: Vec<&str> = FUNCTIONS.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FUNCTIONS.len());
        for name in [
            "args_get",
            "fd_write",
            "fd_read",
            "proc_exit",
            "clock_time_get",
            "random_get",
            "path_open",
            "poll_oneoff",
            "sock_shutdown",
        ] {
            assert!(names.contains(&name), "{name} missing");
        }
    }

    #[test]
    fn unimplemented_functions_return_enosys() {
        let ctx = WasiCtx::builder().build().unwrap();
        let mut memory = vec![0u8; 64];
        let mut unimplemented = 0;
        for sig in FUNCTIONS.iter().filter(|s| !is_implemented(s.name)) {
            assert_eq!(
                call_named(&ctx, sig.name, &mut memory, &zeros(sig)).unwrap(),
                52,
                "{}",
                sig.name
            );
            unimplemented += 1;
        }
        assert_eq!(unimplemented, 46 - 17);
        assert!(memory.iter().all(|&b| b == 0));
    }

    #[test]
    fn dispatch_passes_arguments_in_order() {
        let out = OutputPipe::new();
        let ctx = WasiCtx::builder().stdout_pipe(out.clone()).build().unwrap();
        let mut memory = vec![0u8; 64];
        memory[32..37].copy_from_slice(b"hello");
        memory[0..4].copy_from_slice(&32u32.to_le_bytes());
        memory[4..8].copy_from_slice(&5u32.to_le_bytes());
        let params = [Val::I32(1), Val::I32(0), Val::I32(1), Val::I32(16)];
        assert_eq!(
            call_named(&ctx, "fd_write", &mut memory, &params).unwrap(),
            0
        );
        assert_eq!(out.contents(), b"hello");
        assert_eq!(&memory[16..20], &5u32.to_le_bytes());
        // A "negative" pointer is a large unsigned one: EFAULT, not a wrap.
        let params = [Val::I32(1), Val::I32(-8), Val::I32(1), Val::I32(16)];
        assert_eq!(
            call_named(&ctx, "fd_write", &mut memory, &params).unwrap(),
            21
        );
        // i64 arguments reach the body: fd_seek with whence 3 is EINVAL
        // only if the i32 after the i64 is read from the right slot.
        let params = [Val::I32(1), Val::I64(-1), Val::I32(3), Val::I32(0)];
        assert_eq!(
            call_named(&ctx, "fd_seek", &mut memory, &params).unwrap(),
            28
        );
        let params = [Val::I32(1), Val::I64(-1), Val::I32(0), Val::I32(0)];
        assert_eq!(
            call_named(&ctx, "fd_seek", &mut memory, &params).unwrap(),
            70
        );
    }

    #[test]
    fn no_memory_means_efault_not_a_crash() {
        let ctx = WasiCtx::builder().args(["a"]).build().unwrap();
        let params = [Val::I32(0), Val::I32(4)];
        assert_eq!(
            call_named(&ctx, "args_sizes_get", &mut [], &params).unwrap(),
            21
        );
        assert_eq!(call_named(&ctx, "sched_yield", &mut [], &[]).unwrap(), 0);
    }

    #[test]
    fn proc_exit_traps_with_the_status() {
        let ctx = WasiCtx::builder().build().unwrap();
        let sig = signatures::signature("proc_exit").unwrap();
        let err = call(
            sig,
            unsupported,
            &ctx.state,
            &mut [],
            &[Val::I32(3)],
            &mut [],
        )
        .unwrap_err();
        assert_eq!(err.exit_status(), Some(3));
    }

    #[test]
    fn mistyped_arguments_are_a_host_error() {
        let ctx = WasiCtx::builder().build().unwrap();
        let err = call_named(&ctx, "fd_close", &mut [], &[Val::I64(1)]).unwrap_err();
        assert!(err.to_string().contains("fd_close"), "{err}");
        assert!(call_named(&ctx, "fd_close", &mut [], &[]).is_err());
    }
}
