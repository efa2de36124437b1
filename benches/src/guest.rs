//! The compile-throughput input: a real Rust program (regex, serde_json,
//! toml) built for wasm32-wasip1 by `guests/build-guest.sh`; and the
//! build-script runner the Rust kernels ([`crate::rust_kernels`]) share.

use crate::BenchError;
use std::path::PathBuf;
use std::process::Command;

/// Builds (or refreshes) the guest and returns its bytes. The environment
/// variable `FAASM_BENCH_GUEST_WASM` names a prebuilt module instead.
pub fn guest_wasm() -> Result<Vec<u8>, BenchError> {
    let path = match std::env::var_os("FAASM_BENCH_GUEST_WASM") {
        Some(p) => PathBuf::from(p),
        None => build()?,
    };
    std::fs::read(&path).map_err(|e| BenchError::NoGuest(format!("{}: {e}", path.display())))
}

fn build() -> Result<PathBuf, BenchError> {
    let paths = run_build_script("guests/build-guest.sh", &[]).map_err(BenchError::NoGuest)?;
    paths
        .into_iter()
        .last()
        .ok_or_else(|| BenchError::NoGuest("guests/build-guest.sh printed no path".to_string()))
}

/// Runs `script` (relative to this crate) with `args` and returns the paths
/// it prints on stdout, one a line; on failure, a message naming the
/// script, with its stderr.
pub(crate) fn run_build_script(script: &str, args: &[&str]) -> Result<Vec<PathBuf>, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(script);
    let output = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| PathBuf::from(line.trim()))
        .collect())
}

/// Size of the code section (function bodies) of a module, in bytes: the
/// part the compiler actually translates.
pub fn code_section_size(wasm: &[u8]) -> Option<usize> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CodeSectionStart { size, .. }) = payload {
            return Some(size as usize);
        }
    }
    None
}
