#!/usr/bin/env bash
# Rebuilds src/demo/sgd.wasm, the guest `faasm-run demo sgd` embeds, from
# examples/c/sgd.c with the same flags examples/build.sh uses for it (so
# tests/sgd.rs can check the embedded build matches the source). Run it
# after changing sgd.c or sdk/c, and commit the result.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${FAASM_SKIP_INSTALL:-0}" != 1 ]; then
    bash "$root/scripts/install-toolchain.sh"
fi
clang --target=wasm32-wasi -O2 -I "$root/sdk/c" -Wl,--strip-all \
    "$root/examples/c/sgd.c" -o "$root/src/demo/sgd.wasm"
echo "built $root/src/demo/sgd.wasm"
