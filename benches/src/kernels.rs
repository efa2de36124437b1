//! The C compute kernels, callable natively and inside faasm with the same
//! argument; both sides must agree on the checksum before anything is timed.

use crate::BenchError;
use faasm_runtime::{Engine, Func, Instance, Linker, Module, Val};

/// One kernel: its exported symbol and the argument the benchmarks use.
#[derive(Debug, Clone, Copy)]
pub struct KernelSpec {
    /// Short name used in benchmark ids (`kernels/<name>/native`).
    pub name: &'static str,
    /// Symbol exported by the native library and the wasm module.
    pub symbol: &'static str,
    /// The `n` passed to the kernel.
    pub arg: i32,
    /// What `arg` means, for the report.
    pub what: &'static str,
}

/// Every kernel with its benchmark input (each runs for milliseconds).
pub const KERNELS: &[KernelSpec] = &[
    KernelSpec {
        name: "matmul",
        symbol: "run_matmul",
        arg: 128,
        what: "128x128 f64 matrix multiply",
    },
    KernelSpec {
        name: "stencil",
        symbol: "run_stencil",
        arg: 40,
        what: "5-point Jacobi, 256x256 f32, 40 sweeps",
    },
    KernelSpec {
        name: "sort",
        symbol: "run_sort",
        arg: 100_000,
        what: "quicksort of 100k LCG i32",
    },
    KernelSpec {
        name: "sha256",
        symbol: "run_sha256",
        arg: 1024,
        what: "SHA-256 of 1 MiB",
    },
    KernelSpec {
        name: "fnv1a",
        symbol: "run_fnv1a",
        arg: 1024,
        what: "FNV-1a 64, 4 passes over 1 MiB",
    },
    KernelSpec {
        name: "fib",
        symbol: "run_fib",
        arg: 27,
        what: "naive recursive fib(27)",
    },
    KernelSpec {
        name: "ackermann",
        symbol: "run_ackermann",
        arg: 200,
        what: "Ackermann A(2, 200..207)",
    },
];

type KernelFn = unsafe extern "C" fn(i32) -> i64;

/// Which native build of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeVariant {
    /// clang -O2 as is: LLVM auto-vectorises with SSE2 where it can.
    Vectorized,
    /// clang -O2 without the loop and SLP vectorisers: the like-for-like
    /// baseline for the scalar wasm build.
    Scalar,
}

#[cfg(native_kernels)]
mod native_syms {
    unsafe extern "C" {
        pub fn run_matmul(n: i32) -> i64;
        pub fn run_stencil(n: i32) -> i64;
        pub fn run_sort(n: i32) -> i64;
        pub fn run_sha256(n: i32) -> i64;
        pub fn run_fnv1a(n: i32) -> i64;
        pub fn run_fib(n: i32) -> i64;
        pub fn run_ackermann(n: i32) -> i64;
        pub fn run_matmul_novec(n: i32) -> i64;
        pub fn run_stencil_novec(n: i32) -> i64;
        pub fn run_sort_novec(n: i32) -> i64;
        pub fn run_sha256_novec(n: i32) -> i64;
        pub fn run_fnv1a_novec(n: i32) -> i64;
        pub fn run_fib_novec(n: i32) -> i64;
        pub fn run_ackermann_novec(n: i32) -> i64;
    }
}

#[cfg(native_kernels)]
fn native_fn(symbol: &str, variant: NativeVariant) -> Option<KernelFn> {
    use native_syms::*;
    let vectorized = variant == NativeVariant::Vectorized;
    Some(match symbol {
        "run_matmul" if vectorized => run_matmul,
        "run_stencil" if vectorized => run_stencil,
        "run_sort" if vectorized => run_sort,
        "run_sha256" if vectorized => run_sha256,
        "run_fnv1a" if vectorized => run_fnv1a,
        "run_fib" if vectorized => run_fib,
        "run_ackermann" if vectorized => run_ackermann,
        "run_matmul" => run_matmul_novec,
        "run_stencil" => run_stencil_novec,
        "run_sort" => run_sort_novec,
        "run_sha256" => run_sha256_novec,
        "run_fnv1a" => run_fnv1a_novec,
        "run_fib" => run_fib_novec,
        "run_ackermann" => run_ackermann_novec,
        _ => return None,
    })
}

#[cfg(not(native_kernels))]
fn native_fn(_symbol: &str, _variant: NativeVariant) -> Option<KernelFn> {
    None
}

/// A kernel compiled natively from the C sources.
#[derive(Clone, Copy)]
pub struct NativeKernel {
    f: KernelFn,
}

impl NativeKernel {
    /// The default (vectorised) native build of `symbol`.
    pub fn get(symbol: &str) -> Result<NativeKernel, BenchError> {
        NativeKernel::get_variant(symbol, NativeVariant::Vectorized)
    }

    pub fn get_variant(symbol: &str, variant: NativeVariant) -> Result<NativeKernel, BenchError> {
        native_fn(symbol, variant)
            .map(|f| NativeKernel { f })
            .ok_or(BenchError::NoNativeKernels)
    }

    pub fn call(&self, n: i32) -> i64 {
        // The kernels work in static buffers shared by every caller (test
        // threads run concurrently): one kernel at a time per process.
        static NATIVE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = NATIVE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the kernels are self-contained C functions over their own
        // static buffers, clamp `n` to those buffers' sizes, and the lock
        // above keeps two of them from using those buffers at once.
        unsafe { (self.f)(n) }
    }
}

/// Which wasm build of the kernels (build.rs makes both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmVariant {
    /// Plain wasm32: scalar code, as most toolchains emit by default.
    Scalar,
    /// `-msimd128`: LLVM auto-vectorises with wasm SIMD, as it does with
    /// SSE2 for the native build.
    Simd,
}

impl WasmVariant {
    pub const ALL: [WasmVariant; 2] = [WasmVariant::Scalar, WasmVariant::Simd];

    /// Benchmark id of the faasm side running this build.
    pub fn label(self) -> &'static str {
        match self {
            WasmVariant::Scalar => "faasm",
            WasmVariant::Simd => "faasm-simd",
        }
    }

    /// Bytes of this build of the wasm kernel module.
    pub fn wasm_bytes(self) -> Result<Vec<u8>, BenchError> {
        let (path, error) = match self {
            WasmVariant::Scalar => (
                env!("FAASM_BENCH_KERNELS_WASM"),
                env!("FAASM_BENCH_KERNELS_WASM_ERROR"),
            ),
            WasmVariant::Simd => (
                env!("FAASM_BENCH_KERNELS_SIMD_WASM"),
                env!("FAASM_BENCH_KERNELS_SIMD_WASM_ERROR"),
            ),
        };
        if path.is_empty() {
            return Err(BenchError::NoWasmKernels(error.to_string()));
        }
        std::fs::read(path).map_err(|e| BenchError::NoWasmKernels(format!("{path}: {e}")))
    }
}

/// The wasm kernels instantiated in faasm.
pub struct FaasmKernels {
    pub variant: WasmVariant,
    pub module: Module,
    pub instance: Instance,
}

impl FaasmKernels {
    pub fn load(engine: &Engine, variant: WasmVariant) -> Result<FaasmKernels, BenchError> {
        let wasm = variant.wasm_bytes()?;
        let module = Module::new(engine, &wasm)?;
        let instance = Linker::new(engine).instantiate(&module)?;
        Ok(FaasmKernels {
            variant,
            module,
            instance,
        })
    }

    pub fn kernel(&self, symbol: &str) -> Result<FaasmKernel, BenchError> {
        self.instance
            .get_func(symbol)
            .map(|func| FaasmKernel { func })
            .ok_or_else(|| BenchError::Other(format!("wasm module does not export `{symbol}`")))
    }
}

/// One exported kernel of a [`FaasmKernels`] instance.
#[derive(Clone)]
pub struct FaasmKernel {
    func: Func,
}

impl FaasmKernel {
    pub fn call(&self, n: i32) -> Result<i64, BenchError> {
        match self.func.call(&[Val::I32(n)])?.as_slice() {
            [Val::I64(v)] => Ok(*v),
            other => Err(BenchError::Other(format!("kernel returned {other:?}"))),
        }
    }
}

/// Both sides of one kernel, checked to agree on the checksum.
pub struct KernelPair {
    pub spec: KernelSpec,
    pub native: NativeKernel,
    pub faasm: FaasmKernel,
    pub checksum: i64,
}

impl KernelPair {
    pub fn new(spec: KernelSpec, kernels: &FaasmKernels) -> Result<KernelPair, BenchError> {
        let native = NativeKernel::get(spec.symbol)?;
        let faasm = kernels.kernel(spec.symbol)?;
        let expected = native.call(spec.arg);
        let got = faasm.call(spec.arg)?;
        if expected != got {
            return Err(BenchError::Mismatch(
                spec.name,
                kernels.variant.label(),
                expected,
                got,
            ));
        }
        Ok(KernelPair {
            spec,
            native,
            faasm,
            checksum: expected,
        })
    }
}
