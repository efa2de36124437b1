#!/usr/bin/env bash
# Installs what the benchmarks need (clang + lld for the C kernels'
# wasm32 build, the wasm32-wasip1 Rust target for the compile guest) and
# builds everything once. build.rs does the actual kernel compilation, so
# `cargo bench -p faasm-benches` works after this.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

have_wasm_clang() {
    command -v clang >/dev/null && command -v wasm-ld >/dev/null &&
        clang --print-targets 2>/dev/null | grep -q wasm32
}
if ! have_wasm_clang; then
    echo "build-kernels: installing clang and lld" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq clang lld >&2
fi

cargo build --release -p faasm-benches --manifest-path "$here/../Cargo.toml" >&2
echo "build-kernels: wasm kernels at:" >&2
ls "$here"/../target/release/build/faasm-benches-*/out/kernels.wasm 2>/dev/null >&2 || true
"$here/guests/build-guest.sh"
