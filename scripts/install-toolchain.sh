#!/usr/bin/env bash
# Installs what building the example guests needs, on Debian 12 with rustup:
#   - clang, lld, wasi-libc, libclang-rt-dev-wasm32 (C → wasm32-wasi) and
#     libc++(abi)-14-dev-wasm32 (C++: clang 14's libc++ for WASI), via apt
#   - redis-server (the Redis global state tier's tests start one on
#     loopback), via apt
#   - the wasm32-wasip1 and wasm32-wasip1-threads Rust targets, via rustup
# Idempotent: installs only what is missing, runs `apt-get update` only when
# an install fails without it, and uses sudo only when not root.
set -euo pipefail

packages=(clang lld wasi-libc libclang-rt-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32
    redis-server)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-toolchain: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y -qq "${missing[@]}" >/dev/null; then
        as_root apt-get update -qq
        as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

# wasm32-wasip1-threads: the multi-threaded example (wasi-threads).
for target in wasm32-wasip1 wasm32-wasip1-threads; do
    if ! rustup target list --installed | grep -qx "$target"; then
        echo "install-toolchain: adding the $target Rust target" >&2
        rustup target add "$target"
    fi
done
