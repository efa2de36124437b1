/* Two chained matrix products on n x n doubles (n <= 128), in the shape of
 * PolyBench's 2mm: T = alpha * A * B, then D = beta * D + T * C. Both
 * products run i-j-k: the inner loop is a dot product down a column of the
 * right-hand matrix (a strided walk and a serial add chain, unlike matmul's
 * row streaming). Returns a checksum of D. */
#include "kernels.h"

#define MM2_MAX 128

static double mm2_a[MM2_MAX * MM2_MAX];
static double mm2_b[MM2_MAX * MM2_MAX];
static double mm2_c[MM2_MAX * MM2_MAX];
static double mm2_d[MM2_MAX * MM2_MAX];
static double mm2_t[MM2_MAX * MM2_MAX];

static inline double small_f64(uint32_t *seed) {
    return (double)((int32_t)(lcg_next(seed) >> 28) - 8);
}

KERNEL_EXPORT int64_t run_2mm(int32_t n) {
    n = clamp_n(n, 1, MM2_MAX);
    uint32_t seed = 2002;
    for (int32_t i = 0; i < n * n; i++) {
        mm2_a[i] = small_f64(&seed);
        mm2_b[i] = small_f64(&seed);
        mm2_c[i] = small_f64(&seed);
        mm2_d[i] = small_f64(&seed);
    }
    /* Integers in [-8, 8): every intermediate stays an integer far below
     * 2^53, so doubles are exact whatever the order of the additions. */
    const double alpha = 2.0;
    const double beta = 3.0;
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int32_t k = 0; k < n; k++) {
                acc += mm2_a[i * n + k] * mm2_b[k * n + j];
            }
            mm2_t[i * n + j] = alpha * acc;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < n; j++) {
            double acc = beta * mm2_d[i * n + j];
            for (int32_t k = 0; k < n; k++) {
                acc += mm2_t[i * n + k] * mm2_c[k * n + j];
            }
            mm2_d[i * n + j] = acc;
        }
    }
    int64_t sum = 0;
    for (int32_t i = 0; i < n * n; i++) {
        sum = sum * 31 + (int64_t)mm2_d[i];
    }
    return sum;
}
