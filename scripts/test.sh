#!/usr/bin/env bash
# The project's whole test suite, as CI runs it: installs the guest
# toolchain (so the end-to-end tests cannot skip), then runs every test of
# the workspace in release mode (the spec suite is slow unoptimised).
# Extra arguments go to `cargo test`. Then the WASI conformance suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-toolchain.sh
# Tests that need the example guests or redis-server (installed above)
# fail instead of skipping.
export FAASM_REQUIRE_EXAMPLES=1
export FAASM_REQUIRE_REDIS=1
cargo test --release --workspace "$@"
# The runtime without the compiler feature: it builds without Cranelift
# and still loads and runs hand-made artifacts.
cargo test --release -p faasm-runtime --no-default-features --lib --test handmade

# The WASI preview 1 conformance suite (wasi-testsuite), next to the
# repository: a missing suite fails here rather than being skipped.
cargo run --release -p faasm-spec-tests --bin faasm-wasi-suite -- ../shared/wasi-testsuite
