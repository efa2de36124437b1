/*
 * echo: the call's output is its input, byte for byte.
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/echo.c -o echo.wasm
 *   faasm-run upload demo/echo echo.wasm
 *   faasm-run invoke demo/echo --input hello      -> hello
 */
#include <faasm.h>
#include <stdlib.h>

FAASM_MAIN(echo) {
    long size = faasmGetInputSize();
    /* malloc(0) may return NULL; one spare byte keeps the empty case simple. */
    uint8_t *buf = malloc((size_t)size + 1);
    if (buf == NULL)
        return 1;
    long got = faasmGetInput(buf, size);
    faasmSetOutput(buf, got);
    free(buf);
    return 0;
}
