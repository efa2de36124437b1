//! WASI preview 1 (`wasi_snapshot_preview1`), complete enough for
//! ordinary wasi-libc and Rust std programs, files included.
//!
//! - Process: `args_*`, `environ_*`, `clock_res_get`, `clock_time_get`
//!   (realtime, monotonic), `poll_oneoff` (clocks really sleep; descriptors
//!   are always ready), `proc_exit`, `random_get`, `sched_yield`.
//! - Descriptors (`fdtable.rs`): stdio 0-2, preopened directories from 3
//!   (`fd_prestat_*`), files and directories the guest opens. `fd_read`,
//!   `fd_write`, `fd_pread`, `fd_pwrite`, `fd_seek`/`fd_tell` (`ESPIPE` on
//!   stdio), `fd_close`, `fd_renumber`, `fd_fdstat_get`/`_set_flags`
//!   (append only)/`_set_rights` (shrink only), `fd_filestat_get`/
//!   `_set_size`/`_set_times`, `fd_readdir`, `fd_sync`, `fd_datasync`,
//!   `fd_advise` (a hint), `fd_allocate` (extends the file).
//! - Paths (`fs_path.rs`): `path_open`, `path_create_directory`,
//!   `path_remove_directory`, `path_unlink_file`, `path_rename`,
//!   `path_filestat_get`/`_set_times`, `path_symlink`, `path_readlink`,
//!   `path_link`. Resolution and its sandbox rules are in `path.rs`, the
//!   read-global / write-local layers of a [`Mount`] in `vfs.rs`, and the
//!   race-free host opens under a mount root in `beneath.rs`.
//! - Sockets: a Faaslet has none, so `sock_*` is `EBADF` for a closed
//!   descriptor and `ENOTSOCK` for any open one. `proc_raise` is `ENOSYS`.
//!   Every function is defined, so every WASI program links.
//!
//! Each function's logic is a plain Rust function over [`GuestMemory`] and
//! the context state (unit-tested without a runtime); this module only
//! adapts them to the runtime's host-function calling convention.

mod args;
mod beneath;
mod clock;
mod ctx;
mod fd;
mod fdtable;
mod filetype;
mod fs_dir;
mod fs_errno;
mod fs_file;
mod fs_path;
#[cfg(test)]
mod fs_tests;
mod guest_file;
mod iov;
mod path;
mod poll;
mod proc;
mod quota;
mod random;
mod signatures;
mod stdio;
mod vfs;

pub use ctx::{WasiCtx, WasiCtxBuilder, WasiCtxError};
pub use signatures::{FUNCTIONS, WasiSignature, signature};
pub use stdio::{InputSource, OutputPipe, OutputSink};
pub use vfs::{Mount, MountError, Preopen};

use crate::errno::{self, Errno};
use crate::memory::GuestMemory;
use ctx::WasiState;
use faasm_runtime::{FuncType, Linker, RawVal, Trap};
use std::sync::Mutex;

/// The import module name of WASI preview 1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// A function's arguments, in the raw slots the runtime passes (typed by
/// the function's signature, which the runtime checked at link time).
struct Args<'a>(&'a [RawVal]);

impl Args<'_> {
    fn u32(&self, i: usize) -> u32 {
        self.0.get(i).map_or(0, |v| v.u32())
    }

    fn u64(&self, i: usize) -> u64 {
        self.0.get(i).map_or(0, |v| v.u64())
    }

    fn i64(&self, i: usize) -> i64 {
        self.u64(i) as i64
    }
}

/// The host side of a WASI function that returns an errno.
type Body = fn(&mut WasiState, &mut GuestMemory<'_>, &Args<'_>) -> Result<(), Errno>;

fn unsupported(_: &mut WasiState, _: &mut GuestMemory<'_>, _: &Args<'_>) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

/// `sock_*`: a Faaslet has no sockets, so the descriptor (always the first
/// argument) is checked and found not to be one.
fn no_socket(st: &mut WasiState, _: &mut GuestMemory<'_>, a: &Args<'_>) -> Result<(), Errno> {
    match st.fd(a.u32(0)) {
        None => Err(Errno::Badf),
        Some(_) => Err(Errno::Notsock),
    }
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
        "fd_advise" => |st, _, a| fs_file::fd_advise(st, a.u32(0), a.u64(1), a.u64(2), a.u32(3)),
        "fd_allocate" => |st, _, a| fs_file::fd_allocate(st, a.u32(0), a.u64(1), a.u64(2)),
        "fd_close" => |st, _, a| fd::fd_close(st, a.u32(0)),
        "fd_datasync" => |st, _, a| fs_file::fd_sync(st, a.u32(0), true),
        "fd_sync" => |st, _, a| fs_file::fd_sync(st, a.u32(0), false),
        "fd_fdstat_set_flags" => |st, _, a| fs_file::fd_fdstat_set_flags(st, a.u32(0), a.u32(1)),
        "fd_fdstat_set_rights" => {
            |st, _, a| fs_file::fd_fdstat_set_rights(st, a.u32(0), a.u64(1), a.u64(2))
        }
        "fd_filestat_get" => |st, m, a| fs_file::fd_filestat_get(st, m, a.u32(0), a.u32(1)),
        "fd_filestat_set_times" => {
            |st, _, a| fs_file::fd_filestat_set_times(st, a.u32(0), a.u64(1), a.u64(2), a.u32(3))
        }
        "path_filestat_set_times" => |st, m, a| {
            let path = (a.u32(2), a.u32(3));
            fs_path::path_filestat_set_times(
                st,
                m,
                a.u32(0),
                a.u32(1),
                path,
                a.u64(4),
                a.u64(5),
                a.u32(6),
            )
        },
        "fd_filestat_set_size" => |st, _, a| fs_file::fd_filestat_set_size(st, a.u32(0), a.u64(1)),
        "fd_pread" => {
            |st, m, a| fs_file::fd_pread(st, m, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4))
        }
        "fd_pwrite" => {
            |st, m, a| fs_file::fd_pwrite(st, m, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4))
        }
        "fd_readdir" => {
            |st, m, a| fs_dir::fd_readdir(st, m, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4))
        }
        "fd_renumber" => |st, _, a| fs_file::fd_renumber(st, a.u32(0), a.u32(1)),
        "path_create_directory" => {
            |st, m, a| fs_path::path_create_directory(st, m, a.u32(0), a.u32(1), a.u32(2))
        }
        "path_filestat_get" => |st, m, a| {
            fs_path::path_filestat_get(st, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4))
        },
        "path_open" => |st, m, a| {
            fs_path::path_open(
                st,
                m,
                a.u32(0),
                a.u32(1),
                a.u32(2),
                a.u32(3),
                a.u32(4),
                a.u64(5),
                a.u64(6),
                a.u32(7),
                a.u32(8),
            )
        },
        "path_readlink" => |st, m, a| {
            let path = (a.u32(1), a.u32(2));
            fs_path::path_readlink(st, m, a.u32(0), path, a.u32(3), a.u32(4), a.u32(5))
        },
        "path_remove_directory" => {
            |st, m, a| fs_path::path_remove_directory(st, m, a.u32(0), a.u32(1), a.u32(2))
        }
        "path_rename" => |st, m, a| {
            let (old, new) = ((a.u32(1), a.u32(2)), (a.u32(4), a.u32(5)));
            fs_path::path_rename(st, m, a.u32(0), old, a.u32(3), new)
        },
        "path_unlink_file" => {
            |st, m, a| fs_path::path_unlink_file(st, m, a.u32(0), a.u32(1), a.u32(2))
        }
        "poll_oneoff" => {
            |st, m, a| poll::poll_oneoff(st, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3))
        }
        "path_symlink" => |st, m, a| {
            let (target, new) = ((a.u32(0), a.u32(1)), (a.u32(3), a.u32(4)));
            fs_path::path_symlink(st, m, target, a.u32(2), new)
        },
        "path_link" => |st, m, a| {
            let (old, new) = ((a.u32(2), a.u32(3)), (a.u32(5), a.u32(6)));
            fs_path::path_link(st, m, a.u32(0), a.u32(1), old, a.u32(4), new)
        },
        "sock_accept" | "sock_recv" | "sock_send" | "sock_shutdown" => no_socket,
        "fd_fdstat_get" => |st, m, a| fd::fd_fdstat_get(st, m, a.u32(0), a.u32(1)),
        "fd_prestat_get" => |st, m, a| fs_dir::fd_prestat_get(st, m, a.u32(0), a.u32(1)),
        "fd_prestat_dir_name" => {
            |st, m, a| fs_dir::fd_prestat_dir_name(st, m, a.u32(0), a.u32(1), a.u32(2))
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

/// Runs one WASI function against `memory` (the caller's memory 0, empty if
/// it has none): its arguments are in `slots`, and its errno goes into
/// slot 0. Separate from the linker closure so it is testable without a
/// running instance.
fn call(
    sig: &'static WasiSignature,
    body: Body,
    state: &Mutex<WasiState>,
    memory: &mut [u8],
    slots: &mut [RawVal],
) -> Result<(), Trap> {
    let a = Args(slots);
    if sig.name == "proc_exit" {
        return Err(proc::proc_exit(a.u32(0)));
    }
    let (errno, trap) = if sig.name == "poll_oneoff" {
        // Sleeps without holding the state lock (other threads of the
        // guest keep making WASI calls).
        let mut mem = GuestMemory::new(memory);
        let r = poll::poll_oneoff_unlocked(state, &mut mem, a.u32(0), a.u32(1), a.u32(2), a.u32(3));
        (r, ctx::lock(state).pending_trap.take())
    } else {
        let mut st = ctx::lock(state);
        let mut mem = GuestMemory::new(memory);
        let r = body(&mut st, &mut mem, &a);
        (r, st.pending_trap.take())
    };
    if let Some(slot) = slots.first_mut() {
        *slot = RawVal::new(errno::to_wasm(errno));
    }
    match trap {
        Some(trap) => Err(trap),
        None => Ok(()),
    }
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
        linker
            .func_new_raw(MODULE, sig.name, ty, move |caller, slots| {
                let memory = caller.memory_mut().unwrap_or_default();
                call(sig, body, &state, memory, slots)
            })
            .expect("WASI signatures are numeric");
    }
}

/// Defines every WASI preview 1 function in `linker` for instances made
/// with `Linker::instantiate_with` and a [`crate::HostCtx`]: each call
/// uses the calling instance's context, so one linker serves them all.
pub fn add_to_linker_shared(linker: &mut Linker) {
    for sig in FUNCTIONS {
        let ty = FuncType::new(sig.params, sig.results);
        let body = implementation(sig.name).unwrap_or(unsupported);
        linker
            .func_new_raw(MODULE, sig.name, ty, move |caller, slots| {
                let host = crate::HostCtx::of(caller, sig.name)?;
                let memory = caller.memory_mut().unwrap_or_default();
                call(sig, body, &host.wasi.state, memory, slots)
            })
            .expect("WASI signatures are numeric");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faasm_runtime::Val;

    /// Raw slots holding `params`, with room for the result.
    pub(super) fn slots_of(params: &[Val]) -> Vec<RawVal> {
        let mut slots: Vec<RawVal> = params
            .iter()
            .map(|v| RawVal::from_val(v).unwrap())
            .collect();
        if slots.is_empty() {
            slots.push(RawVal::default());
        }
        slots
    }

    /// Calls `name` the way the linker closure does; returns its errno.
    fn call_named(
        ctx: &WasiCtx,
        name: &str,
        memory: &mut [u8],
        params: &[Val],
    ) -> Result<i32, Trap> {
        let sig = signatures::signature(name).unwrap();
        assert_eq!(sig.params.len(), params.len(), "{name}");
        let body = implementation(name).unwrap_or(unsupported);
        let mut slots = slots_of(params);
        call(sig, body, &ctx.state, memory, &mut slots)?;
        Ok(slots[0].get::<i32>())
    }

    /// One thread asleep in poll_oneoff must not hold up another's calls.
    #[test]
    fn poll_oneoff_sleeps_without_the_state_lock() {
        let ctx = WasiCtx::builder().build().unwrap();
        let sleeper = ctx.clone();
        let t = std::thread::spawn(move || {
            let mut mem = vec![0u8; 256];
            // One relative monotonic clock subscription of 400 ms at 0.
            mem[8] = 0;
            mem[16..20].copy_from_slice(&1u32.to_le_bytes());
            mem[24..32].copy_from_slice(&400_000_000u64.to_le_bytes());
            let params = [Val::I32(0), Val::I32(64), Val::I32(1), Val::I32(128)];
            call_named(&sleeper, "poll_oneoff", &mut mem, &params).unwrap()
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        let start = std::time::Instant::now();
        let mut mem = vec![0u8; 16];
        let params = [Val::I32(1), Val::I64(0), Val::I32(0)];
        assert_eq!(
            call_named(&ctx, "clock_time_get", &mut mem, &params).unwrap(),
            0
        );
        assert!(
            start.elapsed() < std::time::Duration::from_millis(200),
            "clock_time_get waited {:?} for the sleeper",
            start.elapsed()
        );
        assert_eq!(t.join().unwrap(), 0);
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
        let mut unimplemented = Vec::new();
        for sig in FUNCTIONS.iter().filter(|s| !is_implemented(s.name)) {
            assert_eq!(
                call_named(&ctx, sig.name, &mut memory, &zeros(sig)).unwrap(),
                52,
                "{}",
                sig.name
            );
            unimplemented.push(sig.name);
        }
        // Signals have no meaning for a Faaslet; everything else is there.
        assert_eq!(unimplemented, ["proc_raise"]);
        // No descriptor is a socket: ENOTSOCK (57) for stdin, EBADF (8)
        // for a closed one; checked before any pointer.
        for name in ["sock_accept", "sock_recv", "sock_send", "sock_shutdown"] {
            let sig = signatures::signature(name).unwrap();
            assert_eq!(
                call_named(&ctx, name, &mut memory, &zeros(sig)).unwrap(),
                57,
                "{name}"
            );
            let mut params = zeros(sig);
            params[0] = Val::I32(99);
            assert_eq!(
                call_named(&ctx, name, &mut memory, &params).unwrap(),
                8,
                "{name}"
            );
        }
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
        let mut slots = slots_of(&[Val::I32(3)]);
        let err = call(sig, unsupported, &ctx.state, &mut [], &mut slots).unwrap_err();
        assert_eq!(err.exit_status(), Some(3));
    }

    #[test]
    fn a_mistyped_import_does_not_link() {
        let engine = faasm_runtime::Engine::default();
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, WasiCtx::builder().build().unwrap());
        let wasm = faasm_testutil::wat(
            r#"(module (import "wasi_snapshot_preview1" "fd_close" (func (param i64) (result i32))))"#,
        );
        let module = faasm_runtime::Module::new(&engine, &wasm).unwrap();
        let Err(err) = linker.instantiate(&module) else {
            panic!("a mistyped import linked")
        };
        assert!(err.to_string().contains("fd_close"), "{err}");
    }
}
