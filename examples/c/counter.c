/*
 * counter: increments the state value "counter" (an 8-byte little-endian
 * unsigned integer; absent = 0) under its write lock and outputs the new
 * value as decimal text, e.g. "1" on a fresh store.
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/counter.c -o counter.wasm
 *   faasm-run upload demo/counter counter.wasm
 *   faasm-run invoke demo/counter                 -> 1
 *
 * The value persists in the installation's global state tier, so each
 * `faasm-run invoke` counts on from the last; the write lock holds across
 * processes, so concurrent increments are never lost. The Rust example
 * (examples/counter-rust) uses the same key and format.
 */
#include <faasm.h>
#include <stdio.h>
#include <string.h>

#define KEY "counter"
#define SIZE 8

FAASM_MAIN(counter) {
    faasmLockStateWrite(KEY);

    /* Maps the value into our memory (zero-extended, so absent reads as 0)
     * and refreshes it: another call may have changed it since we mapped. */
    uint8_t *value = faasmReadStatePtr(KEY, SIZE);
    faasmPullState(KEY, SIZE);

    uint64_t n = 0;
    for (int i = SIZE - 1; i >= 0; i--)
        n = (n << 8) | value[i];
    n += 1;
    for (int i = 0; i < SIZE; i++)
        value[i] = (uint8_t)(n >> (8 * i));

    faasmPushState(KEY);
    faasmUnlockStateWrite(KEY);

    char text[24];
    int len = snprintf(text, sizeof text, "%llu", (unsigned long long)n);
    faasmSetOutput((const uint8_t *)text, len);
    return 0;
}
