#!/usr/bin/env bash
# Builds the example guests into OUT_DIR (default: target/examples):
#   hello-c.wasm     from examples/c/hello.c      (clang, wasi-libc)
#   hello-rust.wasm  from examples/hello-rust/    (cargo, wasm32-wasip1)
# and the functions written with the SDKs (sdk/c/faasm.h, sdk/rust):
#   {echo,counter,pi,pi_ptr,zygote,sgd,chain_demo,state_demo,mmap_time,file_io}-c.wasm
#                                    from examples/c/NAME.c
#   {hello,echo,chain,state,zygote,files,mmap_time,helpers,throw}-cpp.wasm
#                                    from examples/cpp/NAME.cpp (clang++,
#                                    Debian's libc++ for wasm32)
#   {echo,counter,pi}-rust.wasm      from examples/NAME-rust/
#   sdk-all-imports-{c,rust}.wasm    from sdk/c/tests/all_imports.c and
#                                    sdk/rust/examples/all_imports.rs (call
#                                    every SDK function; tests/sdk_abi.rs
#                                    checks their imports, they never run)
#   sdk-entry-points-c.wasm          from sdk/c/tests/entry_points.c
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

# The C SDK is header-only and needs no link flags (see sdk/c/faasm.h).
sdk_cflags=(--target=wasm32-wasi -O2 -I "$root/sdk/c" -Wl,--strip-all)
for name in echo counter pi pi_ptr zygote sgd chain_demo state_demo mmap_time file_io; do
    clang "${sdk_cflags[@]}" "$here/c/$name.c" -o "$out/$name-c.wasm"
done
for name in hello echo chain state zygote files mmap_time helpers throw; do
    clang++ "${sdk_cflags[@]}" "$here/cpp/$name.cpp" -o "$out/$name-cpp.wasm"
done
for check in all_imports entry_points; do
    clang "${sdk_cflags[@]}" "$root/sdk/c/tests/$check.c" -o "$out/sdk-${check//_/-}-c.wasm"
done

# One target directory for the SDK guests: they share the faasm-sdk build.
sdk_target="$out/sdk-rust-target"
for name in echo counter pi; do
    CARGO_TARGET_DIR="$sdk_target" cargo build --quiet --release \
        --manifest-path "$here/$name-rust/Cargo.toml" --target wasm32-wasip1
    cp "$sdk_target/wasm32-wasip1/release/$name-rust.wasm" "$out/$name-rust.wasm"
done
CARGO_TARGET_DIR="$sdk_target" cargo build --quiet --release \
    --manifest-path "$root/sdk/rust/Cargo.toml" --target wasm32-wasip1 --example all_imports
cp "$sdk_target/wasm32-wasip1/release/examples/all_imports.wasm" "$out/sdk-all-imports-rust.wasm"

echo "built $out/hello-c.wasm $out/hello-rust.wasm and the SDK examples"
