/* Shared helpers for the benchmark kernels. The same sources are compiled
 * natively and to wasm32; nothing here may call libc so the wasm module has
 * no imports (the hot paths measure generated code, not host calls). */
#ifndef FAASM_BENCH_KERNELS_H
#define FAASM_BENCH_KERNELS_H

#include <stdint.h>

#define KERNEL_EXPORT __attribute__((visibility("default")))

/* Numerical Recipes LCG: deterministic input data on both targets. */
static inline uint32_t lcg_next(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state;
}

static inline int32_t clamp_n(int32_t n, int32_t lo, int32_t hi) {
    return n < lo ? lo : (n > hi ? hi : n);
}

#endif
