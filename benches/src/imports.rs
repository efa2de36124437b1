//! How the benchmarks answer a kernel module's imports, on faasm-rs (here)
//! and on wasmtime (`examples/kernels-vs-wasmtime.rs`, with the same
//! decisions from [`answer`]).
//!
//! The C kernels import nothing. The Rust kernels (`guests/rust-kernels`,
//! built for wasm32-wasip1) import five WASI functions, which Rust's
//! standard library would call to print a panic message (`fd_write`), read
//! `RUST_BACKTRACE` (`environ_get`, `environ_sizes_get`), exit
//! (`proc_exit`) and seed a `HashMap` (`random_get`). Every import but
//! `random_get` is a stub that traps, naming the import: the kernels never
//! reach them (they do not panic). `random_get` IS reached: `regex` keeps
//! capture-group names in a `std::collections::HashMap`, whose
//! `RandomState` fetches its keys once per thread, i.e. once per instance,
//! in its first `run_regex` call (the checksum check, before any timing).
//! It is answered with zero bytes: the keys only seed that map's hashing,
//! and the kernels' results do not depend on them. Imports other than
//! functions (memories, tables, globals) are refused.

/// What a function import is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportAnswer {
    /// WASI `random_get(buf: i32, len: i32) -> errno`: fill with zeros
    /// ([`fill_zero_random`]).
    ZeroRandom,
    /// Trap with [`trap_message`].
    Trap,
}

/// How the import `module`.`name` of a kernel module is answered.
pub fn answer(module: &str, name: &str) -> ImportAnswer {
    if module == "wasi_snapshot_preview1" && name == "random_get" {
        ImportAnswer::ZeroRandom
    } else {
        ImportAnswer::Trap
    }
}

/// The trap raised by a stub import.
pub fn trap_message(module: &str, name: &str) -> String {
    format!("benchmark stub: `{module}`.`{name}` called (the kernels are not expected to call it)")
}

/// WASI errno `fault`: a buffer outside memory.
const ERRNO_FAULT: i32 = 21;

/// `random_get(buf, len)` over the caller's memory: zeroes `len` bytes at
/// `buf` and returns errno 0 (success), or `fault` if they are outside it.
pub fn fill_zero_random(memory: &mut [u8], buf: i32, len: i32) -> i32 {
    let start = buf as u32 as usize;
    let end = start.checked_add(len as u32 as usize);
    match end.and_then(|end| memory.get_mut(start..end)) {
        Some(bytes) => {
            bytes.fill(0);
            0
        }
        None => ERRNO_FAULT,
    }
}
