//! counter: increments the state value "counter" (an 8-byte little-endian
//! unsigned integer; absent = 0) under its write lock and outputs the new
//! value as decimal text, e.g. "1" on a fresh store. Same key and format as
//! examples/c/counter.c.
//!
//!   faasm-run upload demo/counter counter-rust.wasm
//!   faasm-run invoke demo/counter                 -> 1
//!
//! The value persists in the installation's global state tier: each
//! `faasm-run invoke` counts on, and the write lock holds across processes.

use faasm_sdk::state::{self, StatePtr};

const KEY: &str = "counter";

fn main() -> Result<(), faasm_sdk::Error> {
    let lock = state::lock_write(KEY)?;
    // Absent reads as zeros. Pull: this instance may have mapped it before.
    let mut value = StatePtr::map(KEY, 8)?;
    value.pull();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&value);
    let n = u64::from_le_bytes(bytes) + 1;
    value.copy_from_slice(&n.to_le_bytes());
    value.push();
    drop(value);
    drop(lock);
    faasm_sdk::set_output(n.to_string().as_bytes());
    Ok(())
}
