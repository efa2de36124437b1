#!/usr/bin/env bash
# Builds the example guests into OUT_DIR (default: target/examples):
#   hello-c.wasm     from examples/c/hello.c      (clang, wasi-libc)
#   hello-rust.wasm  from examples/hello-rust/    (cargo, wasm32-wasip1)
# Installs the toolchain first (scripts/install-toolchain.sh) unless
# FAASM_SKIP_INSTALL=1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="${1:-$root/target/examples}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if [ "${FAASM_SKIP_INSTALL:-0}" != 1 ]; then
    bash "$root/scripts/install-toolchain.sh"
fi

clang --target=wasm32-wasi -O2 -Wl,--strip-all "$here/c/hello.c" -o "$out/hello-c.wasm"

# Its own target directory: the guest must not share (or lock) the host's.
CARGO_TARGET_DIR="$out/hello-rust-target" cargo build --quiet --release \
    --manifest-path "$here/hello-rust/Cargo.toml" --target wasm32-wasip1
cp "$out/hello-rust-target/wasm32-wasip1/release/hello-rust.wasm" "$out/hello-rust.wasm"

echo "built $out/hello-c.wasm $out/hello-rust.wasm"
