//! Write faasm-rs functions in Rust.
//!
//! A function is an ordinary `wasm32-wasip1` binary: `main` runs once per
//! call, and the process exit status (`std::process::exit(n)`, or 0 when
//! `main` returns) is the call's return code. This crate adds what a plain
//! WASI program cannot do, over the Faasm guest ABI (imports in module
//! `env`, see [`sys`]):
//!
//! - the call's [`input`] and [`set_output`] (without `set_output`, the
//!   output is what the function printed on stdout);
//! - [`chain`]ing calls of other functions of the same user, and waiting for
//!   them with [`CallId::wait`] / [`CallId::output`];
//! - shared [`state`]: byte arrays by key, with reader-writer
//!   [locks](state::lock_write) and [mapped values](state::StatePtr).
//!
//! ```no_run
//! let name = String::from_utf8_lossy(&faasm_sdk::input()).into_owned();
//! let call = faasm_sdk::chain("greet", name.as_bytes()).expect("valid name");
//! let (code, greeting) = call.output();
//! faasm_sdk::set_output(&greeting);
//! std::process::exit(code);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip1`, then
//! `faasm-run upload user/func target/wasm32-wasip1/release/func.wasm` and
//! `faasm-run invoke user/func --input TEXT`.
//!
//! Names and keys are validated here (not empty where that matters, no NUL,
//! at most [`MAX_NAME_LEN`] bytes, no `/` in function names) so that the
//! host never has to end the call for a bad one; those checks are the only
//! errors this crate returns.

mod chain;
mod error;
mod name;
pub mod state;
pub mod sys;

pub use chain::{CallId, chain, chain_fn};
pub use error::Error;
pub use name::MAX_NAME_LEN;

/// This call's input, as bytes (empty if it has none).
pub fn input() -> Vec<u8> {
    // SAFETY: length 0 asks for the size and touches no memory.
    let size = unsafe { sys::__faasm_read_input(std::ptr::null_mut(), 0) };
    let size = usize::try_from(size).unwrap_or(0);
    if size == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; size];
    // SAFETY: buf is a live allocation of exactly `size` bytes.
    let got = unsafe { sys::__faasm_read_input(buf.as_mut_ptr(), abi_len(size)) };
    buf.truncate(usize::try_from(got).unwrap_or(0));
    buf
}

/// Sets (replaces) this call's output. A call that never sets its output
/// has what it printed on stdout instead. Output beyond the executor's limit
/// (default 64 MiB) fails the call.
pub fn set_output(output: &[u8]) {
    // SAFETY: the slice is valid for reads of its length.
    unsafe { sys::__faasm_write_output(output.as_ptr(), abi_len(output.len())) }
}

/// A length as the ABI passes it. On wasm32 `usize` is 32 bits, so this
/// never fails there; on a 64-bit host (where the imports cannot link
/// anyway) an impossible length panics instead of being truncated.
pub(crate) fn abi_len(len: usize) -> u32 {
    u32::try_from(len).expect("length does not fit the 32-bit guest ABI")
}

/// A size or return value from the host, negative meaning "none".
pub(crate) fn host_size(n: i32) -> usize {
    usize::try_from(n).unwrap_or(0)
}
