/* Jacobi relaxation in the shape of PolyBench's jacobi-2d: a 5-point
 * average (centre and four neighbours) on a 256 x 256 double grid with
 * fixed borders, A -> B then B -> A per time step, n steps. Returns a
 * checksum of A's bit patterns: each point is computed by the same
 * expression in the same order on every target (no reassociation without
 * -ffast-math, no FMA contraction on baseline x86-64 or wasm), so the bits
 * agree even though the values are not exact. */
#include "kernels.h"

#define JGRID 256

static double jac_a[JGRID * JGRID];
static double jac_b[JGRID * JGRID];

KERNEL_EXPORT int64_t run_jacobi2d(int32_t n) {
    n = clamp_n(n, 1, 10000);
    uint32_t seed = 2112;
    for (int32_t i = 0; i < JGRID * JGRID; i++) {
        jac_a[i] = (double)(lcg_next(&seed) >> 12) * (1.0 / 1048576.0);
        jac_b[i] = jac_a[i];
    }
    for (int32_t t = 0; t < n; t++) {
        for (int32_t y = 1; y < JGRID - 1; y++) {
            for (int32_t x = 1; x < JGRID - 1; x++) {
                int32_t i = y * JGRID + x;
                jac_b[i] = 0.2 * (jac_a[i] + jac_a[i - 1] + jac_a[i + 1] + jac_a[i + JGRID] +
                                  jac_a[i - JGRID]);
            }
        }
        for (int32_t y = 1; y < JGRID - 1; y++) {
            for (int32_t x = 1; x < JGRID - 1; x++) {
                int32_t i = y * JGRID + x;
                jac_a[i] = 0.2 * (jac_b[i] + jac_b[i - 1] + jac_b[i + 1] + jac_b[i + JGRID] +
                                  jac_b[i - JGRID]);
            }
        }
    }
    uint64_t sum = 0;
    for (int32_t i = 0; i < JGRID * JGRID; i++) {
        union {
            double f;
            uint64_t u;
        } bits = {jac_a[i]};
        sum = sum * 1099511628211ull + bits.u;
    }
    return (int64_t)sum;
}
