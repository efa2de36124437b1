//! echo: the call's output is its input, byte for byte.
//!
//!   faasm-run upload demo/echo echo-rust.wasm
//!   faasm-run invoke demo/echo --input hello      -> hello

fn main() {
    faasm_sdk::set_output(&faasm_sdk::input());
}
