#!/usr/bin/env bash
# A fixed-seed fuzzing campaign of about two minutes on the 2-core CI
# machine (after the build): every mode of faasm-fuzz with a fixed case
# count, so a run is reproducible and its cost known. Any finding fails
# the script; its input is in target/fuzz-findings/ and the failing line
# names the --seed/--case that reproduces it.
#
# Counts were sized on this 2-core machine (2 workers): diff ~950
# cases/s (~65 s), exec ~700/s (~20 s), compile ~1,450/s (~20 s),
# artifact ~730/s (~16 s), addr ~1,000/s (~15 s).
#
# `addr` runs the address shapes the compiler folds into guard-page
# accesses (x + c near zero, the end of memory and the 64 KiB guards)
# against the oracle; letting the fold below an address apply at any
# static offset makes it report ~2% of cases.
#
# `artifact` instantiates the hostile artifacts (checksum recomputed over
# corrupted metadata) that load: Artifact::deserialize checks the metadata
# (ModuleInfo::validate) before the runtime indexes with it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SEED="${FUZZ_SEED:-20240601}"
JOBS="${FUZZ_JOBS:-2}"
cargo build --release -p faasm-fuzz
bin="${CARGO_TARGET_DIR:-target}/release/faasm-fuzz"

status=0
passed=0 failed=0 skipped=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
run() {
    echo "== faasm-fuzz $* --seed $SEED --jobs $JOBS"
    "$bin" "$@" --seed "$SEED" --jobs "$JOBS" | tee "$log" || status=1
    # Each run ends with `N passed, N failed, N skipped`: add them up.
    read -r p f s < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$log" | tail -n 1)
    if [ -z "${p:-}" ]; then
        echo "faasm-fuzz $*: no summary line" >&2
        status=1
        return
    fi
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}
start=$SECONDS
run --mode diff --cases 60000
run --mode exec --cases 15000
run --mode compile --cases 30000
run --mode artifact --cases 12000
run --mode addr --cases 15000
echo "fuzz campaign: $((SECONDS - start)) s"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
