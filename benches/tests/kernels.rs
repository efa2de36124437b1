//! The kernels compute what they claim (known answers from independent
//! implementations: Python's hashlib and plain arithmetic), and faasm runs
//! the wasm build of the same sources to the same checksums. A toolchain
//! missing when build.rs ran fails them, saying how to install it.

use faasm_benches::BenchError;
use faasm_benches::kernels::{
    FaasmKernels, KERNELS, KernelPair, NativeKernel, NativeVariant, WasmVariant, native_symbols,
};

/// Fails the test: the kernels were not built.
fn not_built(e: &BenchError) -> ! {
    panic!(
        "{e}\nInstall clang and lld with `bash scripts/install-toolchain.sh` (or \
         benches/build-kernels.sh), then rebuild the benches so build.rs sees them \
         (`cargo clean -p faasm-benches`)"
    )
}

fn native(symbol: &str) -> NativeKernel {
    NativeKernel::get(symbol).unwrap_or_else(|e| not_built(&e))
}

fn native_variant(symbol: &str, variant: NativeVariant) -> NativeKernel {
    NativeKernel::get_variant(symbol, variant).unwrap_or_else(|e| not_built(&e))
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
    let loaded = match FaasmKernels::load(&engine, variant) {
        Ok(k) => k,
        Err(e) if e.is_skip() => not_built(&e),
        Err(e) => panic!("{e}"),
    };
    for spec in KERNELS {
        match KernelPair::new(*spec, &loaded) {
            Ok(pair) => assert_eq!(pair.faasm.call(spec.arg).unwrap(), pair.checksum),
            Err(e) if e.is_skip() => not_built(&e),
            Err(e) => panic!("{e}"),
        }
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
        let v = native_variant(spec.symbol, NativeVariant::Vectorized);
        let s = native_variant(spec.symbol, NativeVariant::Scalar);
        assert_eq!(v.call(spec.arg), s.call(spec.arg), "{}", spec.name);
    }
}

/// build.rs generates the native symbol table from the C sources' exports;
/// every one of them must have a `KernelSpec` (or it is never benchmarked
/// nor checked against faasm), and every spec a native symbol.
#[test]
fn every_native_kernel_has_a_spec_and_back() {
    let native = native_symbols();
    if native.is_empty() {
        not_built(&BenchError::NoNativeKernels);
    }
    for symbol in &native {
        assert!(
            KERNELS.iter().any(|k| k.symbol == *symbol),
            "kernels/*.c export `{symbol}` but KERNELS has no spec for it"
        );
    }
    for spec in KERNELS {
        assert!(
            native.contains(&spec.symbol),
            "{}: `{}` is not exported by the kernel sources",
            spec.name,
            spec.symbol
        );
    }
    let mut names: Vec<&str> = KERNELS.iter().map(|k| k.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), KERNELS.len(), "two kernels share a name");
}

/// The kernels' LCG (Numerical Recipes), as in kernels/kernels.h.
fn lcg(state: &mut u32) -> u32 {
    *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    *state
}

/// A small integer in [-8, 8), as the matrix kernels draw them.
fn small(state: &mut u32) -> i64 {
    i64::from((lcg(state) >> 28) as i32 - 8)
}

/// gemm, 2mm and floyd-warshall recomputed in exact integer arithmetic,
/// the hash table's and the interpreter's answers derived from what they
/// compute: the C kernels (native build) must give the same checksums.
#[test]
fn new_kernels_match_reference_answers() {
    // gemm: C = 3 A B + 2 C, rows folded as sum * 31 + c.
    let n = 48;
    let mut seed = 4242;
    let (mut a, mut b, mut c) = (vec![0; n * n], vec![0; n * n], vec![0; n * n]);
    for i in 0..n * n {
        a[i] = small(&mut seed);
        b[i] = small(&mut seed);
        c[i] = small(&mut seed);
    }
    let mut sum = 0i64;
    for i in 0..n {
        for j in 0..n {
            let dot: i64 = (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum();
            sum = sum
                .wrapping_mul(31)
                .wrapping_add(3 * dot + 2 * c[i * n + j]);
        }
    }
    assert_eq!(native("run_gemm").call(n as i32), sum, "gemm");

    // 2mm: T = 2 A B, D = 3 D + T C.
    let mut seed = 2002;
    let mut d = vec![0; n * n];
    for i in 0..n * n {
        a[i] = small(&mut seed);
        b[i] = small(&mut seed);
        c[i] = small(&mut seed);
        d[i] = small(&mut seed);
    }
    let mut t = vec![0; n * n];
    for i in 0..n {
        for j in 0..n {
            t[i * n + j] = 2 * (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum::<i64>();
        }
    }
    let mut sum = 0i64;
    for i in 0..n {
        for j in 0..n {
            let v = 3 * d[i * n + j] + (0..n).map(|k| t[i * n + k] * c[k * n + j]).sum::<i64>();
            sum = sum.wrapping_mul(31).wrapping_add(v);
        }
    }
    assert_eq!(native("run_2mm").call(n as i32), sum, "2mm");

    // floyd-warshall on 40 nodes, the same graph as the kernel draws.
    let n = 40;
    let mut seed = 1959;
    let mut dist = vec![0i64; n * n];
    for i in 0..n {
        for j in 0..n {
            let r = lcg(&mut seed);
            let w = if r >> 30 == 0 {
                1 << 28
            } else {
                i64::from((r >> 8) & 1023) + 1
            };
            dist[i * n + j] = if i == j { 0 } else { w };
        }
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                dist[i * n + j] = dist[i * n + j].min(dist[i * n + k] + dist[k * n + j]);
            }
        }
    }
    let sum = dist
        .iter()
        .fold(0i64, |s, &v| s.wrapping_mul(31).wrapping_add(v));
    assert_eq!(
        native("run_floyd_warshall").call(n as i32),
        sum,
        "floyd-warshall"
    );

    // hashtable: the n inserted keys are distinct (the LCG has full
    // period), each stored with its index, and found twice; the other
    // stream's keys are absent at this size. So 2n hits, sum 2 * (0..n).
    let n: u64 = 65_536;
    let expected = ((2 * n) << 40) ^ (n * (n - 1));
    assert_eq!(
        native("run_hashtable").call(n as i32) as u64,
        expected,
        "hashtable"
    );

    // interp: the program's loop in Rust, and its instruction count (6 to
    // set up, 12 + 7 or 4 + 6 per iteration, 2 to finish).
    let iters = 1000;
    let (mut x, mut acc, mut steps) = (12_345u32, 0u32, 6u64 + 2);
    for _ in 0..iters {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        if (x >> 16) & 1 != 0 {
            acc = acc.wrapping_add(x >> 20);
            steps += 12 + 7 + 6;
        } else {
            acc ^= x;
            steps += 12 + 4 + 6;
        }
    }
    assert_eq!(
        native("run_interp").call(iters) as u64,
        (steps << 32) ^ u64::from(acc),
        "interp"
    );
}
