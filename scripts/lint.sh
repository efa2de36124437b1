#!/usr/bin/env bash
# The format, lint and documentation checks CI runs before the tests, each
# with warnings denied: rustfmt, clippy (with the workspace's [lints]) and
# rustdoc, over the workspace and over the Rust guest SDK (sdk/rust, not a
# workspace member, checked for its wasm32-wasip1 target). Needs the
# wasm32-wasip1 Rust target (scripts/install-toolchain.sh adds it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() {
    echo "== $*"
    local start=$SECONDS
    "$@"
    echo "== $(($SECONDS - start)) s: $*"
}

if ! rustup target list --installed | grep -qx wasm32-wasip1; then
    echo "lint: the wasm32-wasip1 Rust target is missing; run scripts/install-toolchain.sh" >&2
    exit 1
fi

sdk=(--manifest-path sdk/rust/Cargo.toml --target wasm32-wasip1)
step cargo fmt --all --check
step cargo fmt --manifest-path sdk/rust/Cargo.toml --check
# Release, as scripts/test.sh builds: clippy then reuses its build scripts.
step cargo clippy --release --workspace --all-targets -- -D warnings
step cargo clippy --release "${sdk[@]}" --all-targets -- -D warnings
export RUSTDOCFLAGS="-D warnings"
step cargo doc --release --no-deps --workspace
step cargo doc --release --no-deps "${sdk[@]}"
