//! Builds the C kernels twice from the same sources: natively (a static
//! library linked into the benches) and to wasm32 (a module the benches load
//! at run time). Neither toolchain is required: when one is missing the
//! build still succeeds, and the benches print why they skip.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Kernel sources shared by both targets. Each exports its kernels as
/// `KERNEL_EXPORT int64_t run_NAME(int32_t n) {` lines; those lines are the
/// one list of kernel symbols: build.rs reads them to rename the scalar
/// native build's symbols and to generate the native symbol table
/// (`$OUT_DIR/native_kernels.rs`, included by `src/kernels.rs`).
const KERNELS: &[&str] = &[
    "matmul.c",
    "stencil.c",
    "sort.c",
    "hash.c",
    "recursion.c",
    "gemm.c",
    "mm2.c",
    "jacobi2d.c",
    "seidel2d.c",
    "lu.c",
    "floyd.c",
    "hashtable.c",
    "interp.c",
];
/// wasm-only support code (memset & co; the module has no libc).
const WASM_RT: &str = "wasm_rt.c";
/// Optimisation flags used for BOTH targets so the ratio measures the
/// wasm→native translation, not different C optimisation levels.
const OPT: &str = "-O2";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let kernels = manifest.join("kernels");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo::rerun-if-changed=kernels");
    println!("cargo::rerun-if-env-changed=FAASM_BENCH_CLANG");
    println!("cargo::rustc-check-cfg=cfg(native_kernels)");

    let clang = env::var("FAASM_BENCH_CLANG").unwrap_or_else(|_| "clang".to_string());
    let have_clang = Command::new(&clang)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());

    let symbols = exported_symbols(&kernels);
    write_native_table(&out, &symbols);
    build_native(&kernels, &out, &clang, have_clang, &symbols);

    // Two wasm builds: plain wasm32 (scalar, what most toolchains emit by
    // default) and with simd128 so LLVM can auto-vectorise as it does for
    // the native SSE2 build.
    for (variant, env_name, extra) in [
        ("kernels", "FAASM_BENCH_KERNELS_WASM", None),
        (
            "kernels-simd",
            "FAASM_BENCH_KERNELS_SIMD_WASM",
            Some("-msimd128"),
        ),
    ] {
        let (wasm_path, wasm_error) = if have_clang {
            match build_wasm(&kernels, &out, &clang, variant, extra) {
                Ok(p) => (p.display().to_string(), String::new()),
                Err(e) => (String::new(), e),
            }
        } else {
            (
                String::new(),
                format!("`{clang}` not found (run benches/build-kernels.sh)"),
            )
        };
        if !wasm_error.is_empty() {
            println!("cargo::warning={variant}.wasm not built: {wasm_error}");
        }
        println!("cargo::rustc-env={env_name}={wasm_path}");
        println!("cargo::rustc-env={env_name}_ERROR={wasm_error}");
    }
    build_simd_threads(&kernels, &out, &clang, have_clang);
}

/// The simd_threads bench's kernels, outside the `KERNELS` set: the f32 dot
/// product natively and to wasm with and without `-msimd128` (its SIMD
/// path uses the wasm intrinsics), and the wasi-threads parallel sum (wasm
/// only: shared imported memory, `thread-spawn`).
fn build_simd_threads(kernels: &Path, out: &Path, clang: &str, have_clang: bool) {
    println!("cargo::rustc-check-cfg=cfg(native_simd)");
    let mut native = cc::Build::new();
    if have_clang {
        native.compiler(clang);
    }
    native
        .file(kernels.join("simd_dot.c"))
        .include(kernels)
        .opt_level(2)
        .flag(OPT)
        .warnings(true)
        .cargo_warnings(false);
    match native.try_compile("faasm_bench_simd") {
        Ok(()) => println!("cargo::rustc-cfg=native_simd"),
        Err(e) => println!("cargo::warning=native simd_dot not built: {e}"),
    }
    let plain = ["-Wl,--no-entry,--export-dynamic,-z,stack-size=1048576"];
    let threads = [
        "-matomics",
        "-mbulk-memory",
        "-Wl,--no-entry,--export-dynamic,--shared-memory,--import-memory,--max-memory=33554432",
    ];
    for (src, name, env_name, flags) in [
        ("simd_dot.c", "dot", "FAASM_BENCH_DOT_WASM", &plain[..]),
        (
            "simd_dot.c",
            "dot-simd",
            "FAASM_BENCH_DOT_SIMD_WASM",
            &["-msimd128", plain[0]][..],
        ),
        ("psum.c", "psum", "FAASM_BENCH_PSUM_WASM", &threads[..]),
    ] {
        let wasm = out.join(format!("{name}.wasm"));
        let built = if have_clang {
            run(Command::new(clang)
                .args(["--target=wasm32-unknown-unknown", OPT, "-nostdlib", "-I"])
                .arg(kernels)
                .args(flags)
                .arg(kernels.join(src))
                .arg("-o")
                .arg(&wasm))
        } else {
            Err(format!("`{clang}` not found"))
        };
        let (path, error) = match built {
            Ok(()) => (wasm.display().to_string(), String::new()),
            Err(e) => {
                // One line: it travels in an environment variable.
                let e = e.replace('\n', " ");
                println!("cargo::warning={name}.wasm not built: {e}");
                (String::new(), e)
            }
        };
        println!("cargo::rustc-env={env_name}={path}");
        println!("cargo::rustc-env={env_name}_ERROR={error}");
    }
}

/// How every kernel is declared in the C sources (one line each).
const EXPORT_PREFIX: &str = "KERNEL_EXPORT int64_t ";
const EXPORT_PARAMS: &str = "(int32_t n)";

/// The kernel symbols the sources in `KERNELS` export, in order. A source
/// without one, or a declaration in another shape, is a mistake in our
/// own sources: the build stops and says where.
fn exported_symbols(kernels: &Path) -> Vec<String> {
    let mut symbols = Vec::new();
    for src in KERNELS {
        let text = std::fs::read_to_string(kernels.join(src))
            .unwrap_or_else(|e| panic!("cannot read kernels/{src}: {e}"));
        let before = symbols.len();
        for (line_no, line) in text.lines().enumerate() {
            let Some(rest) = line.strip_prefix(EXPORT_PREFIX) else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                name.starts_with("run_") && rest[name.len()..].starts_with(EXPORT_PARAMS),
                "kernels/{src}:{}: a kernel is declared `{EXPORT_PREFIX}run_NAME{EXPORT_PARAMS}`",
                line_no + 1
            );
            symbols.push(name);
        }
        assert!(
            symbols.len() > before,
            "kernels/{src} exports no `{EXPORT_PREFIX}run_NAME{EXPORT_PARAMS}`"
        );
    }
    symbols
}

/// `$OUT_DIR/native_kernels.rs`: the extern declarations of both native
/// builds of every kernel and a table `(symbol, vectorised, scalar)`.
fn write_native_table(out: &Path, symbols: &[String]) {
    let mut decls = String::new();
    let mut rows = String::new();
    for s in symbols {
        decls.push_str(&format!(
            "    fn {s}(n: i32) -> i64;\n    fn {s}_novec(n: i32) -> i64;\n"
        ));
        rows.push_str(&format!("    (\"{s}\", {s}, {s}_novec),\n"));
    }
    let text = format!(
        "// Generated by benches/build.rs from the kernel sources' exports.\n\
         unsafe extern \"C\" {{\n{decls}}}\n\
         /// Every native kernel: its symbol, the vectorised and the scalar build.\n\
         pub(crate) const NATIVE_KERNELS: &[(&str, KernelFn, KernelFn)] = &[\n{rows}];\n"
    );
    std::fs::write(out.join("native_kernels.rs"), text).expect("write native_kernels.rs");
}

/// Native static libraries via the `cc` crate: the normal -O2 build (with
/// LLVM's auto-vectoriser, SSE2) and a scalar one without it, which is the
/// like-for-like baseline for the scalar wasm build. Clang is preferred so
/// both sides come from the same LLVM; any C compiler will do otherwise.
fn build_native(kernels: &Path, out: &Path, clang: &str, have_clang: bool, symbols: &[String]) {
    let base = || {
        let mut build = cc::Build::new();
        if have_clang {
            build.compiler(clang);
        }
        build
            .files(KERNELS.iter().map(|k| kernels.join(k)))
            .include(kernels)
            .opt_level(2)
            .flag(OPT)
            .warnings(true)
            .cargo_warnings(false);
        build
    };
    if let Err(e) = base().try_compile("faasm_bench_kernels") {
        println!("cargo::warning=native kernels not built: {e}");
        return;
    }
    let mut scalar = base();
    scalar
        .out_dir(out.join("novec"))
        .flag_if_supported("-fno-vectorize")
        .flag_if_supported("-fno-slp-vectorize")
        .flag_if_supported("-fno-tree-vectorize");
    for sym in symbols {
        scalar.define(sym, Some(format!("{sym}_novec").as_str()));
    }
    match scalar.try_compile("faasm_bench_kernels_novec") {
        Ok(()) => println!("cargo::rustc-cfg=native_kernels"),
        Err(e) => println!("cargo::warning=scalar native kernels not built: {e}"),
    }
}

/// `clang --target=wasm32` without libc: no imports, every `run_*` kernel
/// exported, a 1 MiB shadow stack.
fn build_wasm(
    kernels: &Path,
    out: &Path,
    clang: &str,
    variant: &str,
    extra: Option<&str>,
) -> Result<PathBuf, String> {
    let wasm = out.join(format!("{variant}.wasm"));
    let mut objects = Vec::new();
    for src in KERNELS.iter().chain([&WASM_RT]) {
        let obj = out.join(format!("{src}.{variant}.o"));
        let mut cmd = Command::new(clang);
        cmd.args(["--target=wasm32-unknown-unknown", OPT, "-nostdlib", "-c"])
            .args(extra)
            .arg("-I")
            .arg(kernels);
        if *src == WASM_RT {
            // Otherwise LLVM may compile memset's loop into a call to memset.
            cmd.arg("-fno-builtin");
        }
        cmd.arg(kernels.join(src)).arg("-o").arg(&obj);
        run(&mut cmd)?;
        objects.push(obj);
    }
    let mut link = Command::new(clang);
    link.args([
        "--target=wasm32-unknown-unknown",
        "-nostdlib",
        "-Wl,--no-entry",
        "-Wl,--export-dynamic",
        "-Wl,-z,stack-size=1048576",
    ])
    .args(&objects)
    .arg("-o")
    .arg(&wasm);
    run(&mut link)?;
    Ok(wasm)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
