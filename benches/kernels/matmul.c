/* Dense matrix multiply C = A * B on n x n doubles (n <= 128), i-k-j loop
 * order so the inner loop streams rows. Returns a checksum of C. */
#include "kernels.h"

#define MATMUL_MAX 128

static double mat_a[MATMUL_MAX * MATMUL_MAX];
static double mat_b[MATMUL_MAX * MATMUL_MAX];
static double mat_c[MATMUL_MAX * MATMUL_MAX];

KERNEL_EXPORT int64_t run_matmul(int32_t n) {
    n = clamp_n(n, 1, MATMUL_MAX);
    uint32_t seed = 12345;
    for (int32_t i = 0; i < n * n; i++) {
        /* Small integers in [-8, 8) keep every product and sum exact, so
         * the checksum cannot depend on rounding or operation order. */
        mat_a[i] = (double)((int32_t)(lcg_next(&seed) >> 28) - 8);
        mat_b[i] = (double)((int32_t)(lcg_next(&seed) >> 28) - 8);
        mat_c[i] = 0.0;
    }
    for (int32_t i = 0; i < n; i++) {
        for (int32_t k = 0; k < n; k++) {
            double a = mat_a[i * n + k];
            for (int32_t j = 0; j < n; j++) {
                mat_c[i * n + j] += a * mat_b[k * n + j];
            }
        }
    }
    int64_t sum = 0;
    for (int32_t i = 0; i < n * n; i++) {
        sum = sum * 31 + (int64_t)mat_c[i];
    }
    return sum;
}
