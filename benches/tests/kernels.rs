//! The kernels compute what they claim (known answers from independent
//! implementations: Python's hashlib and plain arithmetic), and faasm runs
//! the wasm build of the same sources to the same checksums. A toolchain
//! missing at build time (clang with the wasm32 target, wasm-ld) fails
//! these tests, saying how to install it: they never pass by skipping.

use faasm_benches::BenchError;
use faasm_benches::kernels::{
    FaasmKernels, KERNELS, KernelPair, NativeKernel, NativeVariant, WasmVariant,
};

/// How to get what benches/build.rs needs; the build must be redone after
/// (cargo reruns the build script when benches/kernels changes, or after
/// `cargo clean -p faasm-benches`).
const INSTALL: &str = "install clang and lld with `bash scripts/install-toolchain.sh`, \
     then rebuild the benches (`cargo clean -p faasm-benches`)";

/// A missing toolchain is a failure; any other error too.
fn require<T>(what: &str, r: Result<T, BenchError>) -> T {
    r.unwrap_or_else(|e| {
        if e.is_skip() {
            panic!("{what}: {e}: {INSTALL}")
        }
        panic!("{what}: {e}")
    })
}

fn native(symbol: &str) -> NativeKernel {
    require(symbol, NativeKernel::get(symbol))
}

#[test]
fn native_kernels_match_reference_answers() {
    let sha = native("run_sha256");
    // First 8 digest bytes of SHA-256 over the 1 MiB LCG buffer (seed 99),
    // as computed by Python's hashlib.sha256.
    assert_eq!(sha.call(1024) as u64, 0xc478_7f1f_33e1_ebad);
    // FNV-1a 64 over the same buffer, 4 passes, computed in Python.
    assert_eq!(native("run_fnv1a").call(1024) as u64, 0x354c_27e4_01d3_b8d5);
    assert_eq!(native("run_fib").call(27), 196_418);
    // A(2, n) = 2n + 3, summed for n = 200..207.
    let expected: i64 = (200..208).map(|n| 2 * n + 3).sum();
    assert_eq!(native("run_ackermann").call(200), expected);
    // run_sort returns -1 when its output is not sorted.
    assert_ne!(native("run_sort").call(100_000), -1);
}

fn faasm_matches_native(variant: WasmVariant) {
    let engine = faasm_benches::default_engine();
    let loaded = require("wasm kernels", FaasmKernels::load(&engine, variant));
    for spec in KERNELS {
        let pair = require(spec.name, KernelPair::new(*spec, &loaded));
        assert_eq!(pair.faasm.call(spec.arg).unwrap(), pair.checksum);
    }
}

#[test]
fn faasm_matches_native_on_every_kernel() {
    faasm_matches_native(WasmVariant::Scalar);
}

#[test]
fn faasm_matches_native_on_every_kernel_with_simd128() {
    faasm_matches_native(WasmVariant::Simd);
}

#[test]
fn scalar_native_build_agrees_with_vectorized() {
    for spec in KERNELS {
        let v = require(
            spec.symbol,
            NativeKernel::get_variant(spec.symbol, NativeVariant::Vectorized),
        );
        let s = require(
            spec.symbol,
            NativeKernel::get_variant(spec.symbol, NativeVariant::Scalar),
        );
        assert_eq!(v.call(spec.arg), s.call(spec.arg), "{}", spec.name);
    }
}
