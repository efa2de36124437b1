/*
 * chain_demo: Faasm's chaining calls from C, one of each.
 *   - by name: the user's function "echo" (upload examples/c/echo.c as
 *     USER/echo), its output in host-placed memory (Faasm's char ** form);
 *   - by pointer: `doubler` in a new Faaslet, its output copied into a
 *     buffer (the uint8_t * form) and its size asked first;
 *   - faasmChainBatch: three calls of `failer` (return code 3 each) and two
 *     of `doubler` (0).
 * Output: "name=by name(0) ptr=ptrptr(0,6) batch=0,3".
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/chain_demo.c -o chain_demo.wasm
 */
#include <faasm.h>
#include <stdio.h>
#include <string.h>

FAASM_FUNC(doubler, 1) {
    uint8_t in[64];
    long n = faasmGetInput(in, sizeof in / 2);
    memcpy(in + n, in, (size_t)n);
    faasmSetOutput(in, 2 * n);
    return 0;
}

FAASM_FUNC(failer, 2) { return 3; }

FAASM_MAIN(chain_demo) {
    unsigned int byName = faasmChainNamed("echo", BYTES("by name"), 7);
    unsigned int byPtr = faasmChain(doubler, BYTES("ptr"), 3);

    char *echoed;
    int echoedLen;
    int rcName = faasmAwaitCallOutput(byName, &echoed, &echoedLen);

    long size = faasmGetCallOutputSize(byPtr);
    uint8_t doubled[32] = {0};
    int rcPtr = faasmAwaitCallOutput(byPtr, doubled, sizeof doubled - 1);

    unsigned int ok = faasmChainBatch(doubler, "y", 2);
    unsigned int failed = faasmChainBatch(failer, "x", 3);

    char out[160];
    int n = snprintf(out, sizeof out, "name=%.*s(%d) ptr=%s(%d,%ld) batch=%u,%u", echoedLen,
                     echoed, rcName, (const char *)doubled, rcPtr, size, ok, failed);
    faasmSetOutput(out, n);
    return 0;
}
