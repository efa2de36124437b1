#!/usr/bin/env bash
# Builds the Rust kernels (rust-kernels/: JSON with serde_json, regex) in
# release and prints the path of each artifact, one a line, in the order
# asked. Variants (all four when none is given):
#   wasm-scalar    wasm32-wasip1                                 rust_kernels.wasm
#   wasm-simd      wasm32-wasip1, -C target-feature=+simd128     rust_kernels.wasm
#   native         host target, default flags (auto-vectorised)  librust_kernels.so
#   native-scalar  host target, -C no-vectorize-loops -C no-vectorize-slp
#                  (the like-for-like baseline of wasm-scalar, as the C
#                  kernels' novec build is)
# Each variant has its own target directory under guests/target/ so that
# all four stay cached. Installs the wasm32-wasip1 target if it is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
manifest="$here/rust-kernels/Cargo.toml"
# Do not inherit flags meant for the host build that may be running us.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET

variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
    variants=(wasm-scalar wasm-simd native native-scalar)
fi

paths=()
for variant in "${variants[@]}"; do
    target_dir="$here/target/rust-kernels-$variant"
    case "$variant" in
        wasm-scalar | wasm-simd)
            if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
                rustup target add wasm32-wasip1 >&2
            fi
            flags=""
            [ "$variant" = wasm-simd ] && flags="-C target-feature=+simd128"
            RUSTFLAGS="$flags" CARGO_TARGET_DIR="$target_dir" \
                cargo build --quiet --release --target wasm32-wasip1 --manifest-path "$manifest" >&2
            paths+=("$target_dir/wasm32-wasip1/release/rust_kernels.wasm")
            ;;
        native | native-scalar)
            flags=""
            [ "$variant" = native-scalar ] && flags="-C no-vectorize-loops -C no-vectorize-slp"
            RUSTFLAGS="$flags" CARGO_TARGET_DIR="$target_dir" \
                cargo build --quiet --release --manifest-path "$manifest" >&2
            paths+=("$target_dir/release/librust_kernels.so")
            ;;
        *)
            echo "build-rust-kernels.sh: unknown variant '$variant' (wasm-scalar, wasm-simd, native, native-scalar)" >&2
            exit 2
            ;;
    esac
done
printf '%s\n' "${paths[@]}"
