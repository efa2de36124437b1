/* 5-point Jacobi relaxation on a 256 x 256 float grid with fixed borders,
 * `n` sweeps (ping-pong between two grids). Returns a checksum of the
 * final grid's bit patterns. */
#include "kernels.h"

#define GRID 256

static float grid_a[GRID * GRID];
static float grid_b[GRID * GRID];

KERNEL_EXPORT int64_t run_stencil(int32_t n) {
    n = clamp_n(n, 1, 10000);
    uint32_t seed = 777;
    for (int32_t i = 0; i < GRID * GRID; i++) {
        grid_a[i] = (float)(lcg_next(&seed) >> 16) * (1.0f / 65536.0f);
        grid_b[i] = grid_a[i];
    }
    float *src = grid_a;
    float *dst = grid_b;
    for (int32_t it = 0; it < n; it++) {
        for (int32_t y = 1; y < GRID - 1; y++) {
            for (int32_t x = 1; x < GRID - 1; x++) {
                int32_t i = y * GRID + x;
                dst[i] = 0.25f * (src[i - 1] + src[i + 1] + src[i - GRID] + src[i + GRID]);
            }
        }
        float *t = src;
        src = dst;
        dst = t;
    }
    uint64_t sum = 0;
    for (int32_t i = 0; i < GRID * GRID; i++) {
        union {
            float f;
            uint32_t u;
        } bits = {src[i]};
        sum = sum * 1099511628211ull + bits.u;
    }
    return (int64_t)sum;
}
