#!/usr/bin/env bash
# Builds the compile-benchmark guest (a Rust program using regex and
# serde_json) for wasm32-wasip1 and prints the path of the .wasm.
# Installs the wasm32-wasip1 target with rustup if it is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
    rustup target add wasm32-wasip1 >&2
fi
export CARGO_TARGET_DIR="$here/target"
# Do not inherit flags meant for the host build that may be running us.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET
cargo build --quiet --release --target wasm32-wasip1 \
    --manifest-path "$here/compile-guest/Cargo.toml" >&2
echo "$CARGO_TARGET_DIR/wasm32-wasip1/release/compile-guest.wasm"
