/* General matrix multiply C = alpha * A * B + beta * C on n x n floats
 * (n <= 192), in the shape of PolyBench's gemm: each row of C is scaled by
 * beta, then rows of B are accumulated into it (i-k-j order, the inner
 * loop streams a row). Returns a checksum of C. */
#include "kernels.h"

#define GEMM_MAX 192

static float gemm_a[GEMM_MAX * GEMM_MAX];
static float gemm_b[GEMM_MAX * GEMM_MAX];
static float gemm_c[GEMM_MAX * GEMM_MAX];

/* A small integer in [-8, 8). */
static inline float small_f32(uint32_t *seed) {
    return (float)((int32_t)(lcg_next(seed) >> 28) - 8);
}

KERNEL_EXPORT int64_t run_gemm(int32_t n) {
    n = clamp_n(n, 1, GEMM_MAX);
    uint32_t seed = 4242;
    for (int32_t i = 0; i < n * n; i++) {
        gemm_a[i] = small_f32(&seed);
        gemm_b[i] = small_f32(&seed);
        gemm_c[i] = small_f32(&seed);
    }
    /* Every product and partial sum is an integer below 2^24, so f32
     * holds it exactly and the checksum does not depend on the order in
     * which a vectoriser adds things up. */
    const float alpha = 3.0f;
    const float beta = 2.0f;
    for (int32_t i = 0; i < n; i++) {
        float *c = &gemm_c[i * n];
        for (int32_t j = 0; j < n; j++) {
            c[j] *= beta;
        }
        for (int32_t k = 0; k < n; k++) {
            float a = alpha * gemm_a[i * n + k];
            const float *b = &gemm_b[k * n];
            for (int32_t j = 0; j < n; j++) {
                c[j] += a * b[j];
            }
        }
    }
    int64_t sum = 0;
    for (int32_t i = 0; i < n * n; i++) {
        sum = sum * 31 + (int64_t)gemm_c[i];
    }
    return sum;
}
