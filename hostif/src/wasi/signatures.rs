//! The wasm-level signature of every WASI preview 1 function (module
//! `wasi_snapshot_preview1`), after the spec's lowering: pointers, sizes,
//! descriptors, flags and small enums are `i32`; 64-bit quantities
//! (timestamps, file sizes and offsets, rights, cookies) are `i64`; a string
//! argument is a `(ptr, len)` pair; results are written through trailing
//! out-pointers and the function returns an `errno` as `i32`.
//!
//! Every function listed here is defined by `add_to_linker`, implemented or
//! not, so any WASI program links (see the module docs of `wasi` for the
//! few that return `ENOTSUP` or `ENOSYS`).

use faasm_runtime::ValType;

/// The wasm type of one `wasi_snapshot_preview1` import.
#[derive(Debug, Clone, Copy)]
pub struct WasiSignature {
    /// The import's name, e.g. `fd_write`.
    pub name: &'static str,
    /// Its parameters (pointers and sizes are `I32`).
    pub params: &'static [ValType],
    /// `[I32]` (an errno) for all but `proc_exit`.
    pub results: &'static [ValType],
}

const fn f(name: &'static str, params: &'static [ValType]) -> WasiSignature {
    WasiSignature {
        name,
        params,
        results: &[I32],
    }
}

use ValType::{I32, I64};

/// Every WASI preview 1 function the host defines, with its type.
pub const FUNCTIONS: &[WasiSignature] = &[
    f("args_get", &[I32, I32]),
    f("args_sizes_get", &[I32, I32]),
    f("environ_get", &[I32, I32]),
    f("environ_sizes_get", &[I32, I32]),
    f("clock_res_get", &[I32, I32]),
    f("clock_time_get", &[I32, I64, I32]),
    f("fd_advise", &[I32, I64, I64, I32]),
    f("fd_allocate", &[I32, I64, I64]),
    f("fd_close", &[I32]),
    f("fd_datasync", &[I32]),
    f("fd_fdstat_get", &[I32, I32]),
    f("fd_fdstat_set_flags", &[I32, I32]),
    f("fd_fdstat_set_rights", &[I32, I64, I64]),
    f("fd_filestat_get", &[I32, I32]),
    f("fd_filestat_set_size", &[I32, I64]),
    f("fd_filestat_set_times", &[I32, I64, I64, I32]),
    f("fd_pread", &[I32, I32, I32, I64, I32]),
    f("fd_prestat_get", &[I32, I32]),
    f("fd_prestat_dir_name", &[I32, I32, I32]),
    f("fd_pwrite", &[I32, I32, I32, I64, I32]),
    f("fd_read", &[I32, I32, I32, I32]),
    f("fd_readdir", &[I32, I32, I32, I64, I32]),
    f("fd_renumber", &[I32, I32]),
    f("fd_seek", &[I32, I64, I32, I32]),
    f("fd_sync", &[I32]),
    f("fd_tell", &[I32, I32]),
    f("fd_write", &[I32, I32, I32, I32]),
    f("path_create_directory", &[I32, I32, I32]),
    f("path_filestat_get", &[I32, I32, I32, I32, I32]),
    f(
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
    ),
    f("path_link", &[I32, I32, I32, I32, I32, I32, I32]),
    f("path_open", &[I32, I32, I32, I32, I32, I64, I64, I32, I32]),
    f("path_readlink", &[I32, I32, I32, I32, I32, I32]),
    f("path_remove_directory", &[I32, I32, I32]),
    f("path_rename", &[I32, I32, I32, I32, I32, I32]),
    f("path_symlink", &[I32, I32, I32, I32, I32]),
    f("path_unlink_file", &[I32, I32, I32]),
    f("poll_oneoff", &[I32, I32, I32, I32]),
    WasiSignature {
        name: "proc_exit",
        params: &[I32],
        results: &[],
    },
    f("proc_raise", &[I32]),
    f("sched_yield", &[]),
    f("random_get", &[I32, I32]),
    f("sock_accept", &[I32, I32, I32]),
    f("sock_recv", &[I32, I32, I32, I32, I32, I32]),
    f("sock_send", &[I32, I32, I32, I32, I32]),
    f("sock_shutdown", &[I32, I32]),
];

/// The signature of the preview 1 function `name`.
pub fn signature(name: &str) -> Option<&'static WasiSignature> {
    FUNCTIONS.iter().find(|s| s.name == name)
}
