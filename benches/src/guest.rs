//! The compile-throughput input: a real Rust program (regex, serde_json,
//! toml) built for wasm32-wasip1 by `guests/build-guest.sh`.

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
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("guests/build-guest.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| BenchError::NoGuest(format!("cannot run {}: {e}", script.display())))?;
    if !output.status.success() {
        return Err(BenchError::NoGuest(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout.lines().last().unwrap_or_default().trim();
    Ok(PathBuf::from(path))
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
