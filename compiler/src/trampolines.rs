//! Entry (host→wasm) and host-call (wasm→host) trampolines.
