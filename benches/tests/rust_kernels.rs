//! The Rust kernels (`guests/rust-kernels`): faasm-rs runs the scalar
//! wasm32-wasip1 build to the same checksums as the native (vectorised)
//! build, and reaches the host only where `src/imports.rs` says. Builds
//! both with `guests/build-rust-kernels.sh` (cargo caches them); a failed
//! build fails the test with the script's message.

use faasm_benches::kernels::{FaasmKernels, NativeVariant, WasmVariant};
use faasm_benches::rust_kernels::{RUST_KERNELS, RustBuild, RustKernels};
use std::sync::atomic::Ordering;

#[test]
fn faasm_matches_native_on_the_rust_kernels() {
    let built = RustKernels::build(&[RustBuild::WasmScalar, RustBuild::Native])
        .unwrap_or_else(|e| panic!("{e}"));
    let wasm = built.wasm_bytes(WasmVariant::Scalar).unwrap();
    let engine = faasm_benches::default_engine();
    let faasm = FaasmKernels::from_wasm(&engine, WasmVariant::Scalar, &wasm)
        .unwrap_or_else(|e| panic!("{e}"));
    for spec in RUST_KERNELS {
        let native = built
            .native(spec.symbol, NativeVariant::Vectorized)
            .unwrap_or_else(|e| panic!("{e}"));
        let kernel = faasm.kernel(spec.symbol).unwrap();
        let expected = native.call(spec.arg);
        assert_ne!(
            expected, -1,
            "{}: the JSON round trip changed an order",
            spec.name
        );
        // Twice on each side: the kernels keep no state between calls.
        assert_eq!(
            native.call(spec.arg),
            expected,
            "{} native, 2nd call",
            spec.name
        );
        for call in 1..=2 {
            let got = kernel
                .call(spec.arg)
                .unwrap_or_else(|e| panic!("{} faasm: {e:#}", spec.name));
            assert_eq!(
                got, expected,
                "{} (call {call}): faasm {got:#x}, native {expected:#x}",
                spec.name
            );
        }
        // A different input gives a different checksum.
        assert_ne!(native.call(spec.arg / 2), expected, "{}", spec.name);
    }
    // The one host call the kernels make: `RandomState`'s keys, once per
    // instance (in the first run_regex), never again.
    assert_eq!(faasm.random_get_calls.load(Ordering::Relaxed), 1);
}
