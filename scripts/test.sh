#!/usr/bin/env bash
# The project's whole test suite, as CI runs it: installs the guest
# toolchain (so the end-to-end tests cannot skip), then runs every test of
# the workspace in release mode (the spec suite is slow unoptimised).
# Extra arguments go to the workspace's `cargo test`. Then the runtime
# without its compiler feature, the Rust guest SDK (sdk/rust, outside the
# workspace) and the WASI conformance suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-toolchain.sh
# Tests that need the example guests or redis-server (installed above)
# fail instead of skipping.
export FAASM_REQUIRE_EXAMPLES=1
export FAASM_REQUIRE_REDIS=1
# Cranelift's IR verifier, on by default only in debug builds, switched on
# at run time in these release builds: every function that the compiler
# tests, the spec suite and every other test compile goes through it. It
# changes no generated code, so the verdicts are those of production
# compiles; the WASI suite and scripts/fuzz-ci.sh run with it off. (A
# second run of just the compiler and spec tests would cost more: `cargo
# test -p` resolves features differently and rebuilds those crates.)
FAASM_VERIFY_IR=1 cargo test --release --workspace "$@"
# The runtime without the compiler feature: it builds without Cranelift
# and still loads and runs hand-made artifacts.
cargo test --release -p faasm-runtime --no-default-features --lib --test handmade

# The Rust guest SDK: its unit tests and doc tests on the host (they check
# names and ranges, no host call), and the library and its example built
# for the guest target.
cargo test --release --manifest-path sdk/rust/Cargo.toml
cargo build --release --manifest-path sdk/rust/Cargo.toml --target wasm32-wasip1 --lib --examples

# The WASI preview 1 conformance suite (wasi-testsuite), next to the
# repository: a missing suite fails here rather than being skipped.
cargo run --release -p faasm-spec-tests --bin faasm-wasi-suite -- ../shared/wasi-testsuite
