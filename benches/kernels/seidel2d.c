/* Gauss-Seidel relaxation in the shape of PolyBench's seidel-2d: each point
 * of a 256 x 256 double grid becomes the average of its 3 x 3
 * neighbourhood, in place, so every point depends on the one just updated
 * to its left (a serial chain of adds and a divide: nothing to vectorise).
 * n sweeps. Returns a checksum of the grid's bit patterns (the same
 * expression in the same order on every target, so the bits agree). */
#include "kernels.h"

#define SGRID 256

static double seidel[SGRID * SGRID];

KERNEL_EXPORT int64_t run_seidel2d(int32_t n) {
    n = clamp_n(n, 1, 10000);
    uint32_t seed = 3113;
    for (int32_t i = 0; i < SGRID * SGRID; i++) {
        seidel[i] = (double)(lcg_next(&seed) >> 12) * (1.0 / 1048576.0);
    }
    double *g = seidel;
    for (int32_t t = 0; t < n; t++) {
        for (int32_t y = 1; y < SGRID - 1; y++) {
            for (int32_t x = 1; x < SGRID - 1; x++) {
                int32_t i = y * SGRID + x;
                g[i] = (g[i - SGRID - 1] + g[i - SGRID] + g[i - SGRID + 1] + g[i - 1] + g[i] +
                        g[i + 1] + g[i + SGRID - 1] + g[i + SGRID] + g[i + SGRID + 1]) /
                       9.0;
            }
        }
    }
    uint64_t sum = 0;
    for (int32_t i = 0; i < SGRID * SGRID; i++) {
        union {
            double f;
            uint64_t u;
        } bits = {g[i]};
        sum = sum * 1099511628211ull + bits.u;
    }
    return (int64_t)sum;
}
