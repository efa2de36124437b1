/*
 * FAASM_ZYGOTE runs once, when the function's snapshot is taken, not per
 * call: every call outputs "zygote ran 1 time(s), call N" with N = 1,
 * because each call starts from the snapshot (calls never see each other's
 * writes either). The zygote also appends a line to /zygote.log in the
 * user's tree, so how often it ran shows outside the Faaslets too.
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/zygote.c -o zygote.wasm
 *   faasm-run upload demo/zygote zygote.wasm
 *   faasm-run invoke demo/zygote
 */
#include <faasm.h>
#include <stdio.h>
#include <string.h>

static int zygote_runs = 0;
static int calls = 0;

FAASM_ZYGOTE() {
    zygote_runs++;
    FILE *log = fopen("/zygote.log", "a");
    if (log) {
        fputs("zygote\n", log);
        fclose(log);
    }
    return 0;
}

FAASM_MAIN(zygote) {
    calls++;
    char out[64];
    int n = snprintf(out, sizeof out, "zygote ran %d time(s), call %d", zygote_runs, calls);
    faasmSetOutput((const uint8_t *)out, n);
    return 0;
}
