/* LU decomposition without pivoting, in place, in the shape of PolyBench's
 * lu (Doolittle, row by row: each entry is reduced by a dot product of the
 * already-factored row and column, L's entries divided by the pivot), on
 * an n x n diagonally dominant double matrix (n <= 256). Returns a checksum
 * of the factors' bit patterns: the dot products are serial reductions,
 * which no compiler may reorder without -ffast-math, so the bits agree on
 * every target. */
#include "kernels.h"

#define LU_MAX 256

static double lu_a[LU_MAX * LU_MAX];

KERNEL_EXPORT int64_t run_lu(int32_t n) {
    n = clamp_n(n, 1, LU_MAX);
    uint32_t seed = 5150;
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < n; j++) {
            double v = (double)((int32_t)(lcg_next(&seed) >> 28) - 8);
            /* A heavy diagonal keeps the pivots far from zero. */
            lu_a[i * n + j] = i == j ? v + 16.0 * n : v;
        }
    }
    double *a = lu_a;
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < i; j++) {
            double v = a[i * n + j];
            for (int32_t k = 0; k < j; k++) {
                v -= a[i * n + k] * a[k * n + j];
            }
            a[i * n + j] = v / a[j * n + j];
        }
        for (int32_t j = i; j < n; j++) {
            double v = a[i * n + j];
            for (int32_t k = 0; k < i; k++) {
                v -= a[i * n + k] * a[k * n + j];
            }
            a[i * n + j] = v;
        }
    }
    uint64_t sum = 0;
    for (int32_t i = 0; i < n * n; i++) {
        union {
            double f;
            uint64_t u;
        } bits = {a[i]};
        sum = sum * 1099511628211ull + bits.u;
    }
    return (int64_t)sum;
}
