/* f32 dot product, the simd_threads benchmark's SIMD kernel. With
 * -msimd128 (the "wasm-simd" build) it is written with the wasm SIMD
 * intrinsics; every other build (scalar wasm, native) compiles the plain C
 * loop. Both keep eight partial sums combined in the same order, so every
 * build returns the same bits: the checksums must agree before timing. */
#include "kernels.h"

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define LEN 4096

static float vec_a[LEN];
static float vec_b[LEN];

static float dot(const float *a, const float *b) {
#ifdef __wasm_simd128__
    v128_t acc0 = wasm_f32x4_splat(0.0f);
    v128_t acc1 = wasm_f32x4_splat(0.0f);
    for (int32_t i = 0; i < LEN; i += 8) {
        acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        acc1 = wasm_f32x4_add(acc1,
                              wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
    }
    v128_t s = wasm_f32x4_add(acc0, acc1);
    return (wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1)) +
           (wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3));
#else
    float acc[8] = {0};
    for (int32_t i = 0; i < LEN; i += 8) {
        for (int32_t j = 0; j < 8; j++) {
            acc[j] += a[i + j] * b[i + j];
        }
    }
    float s[4];
    for (int32_t j = 0; j < 4; j++) {
        s[j] = acc[j] + acc[j + 4];
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
#endif
}

/* `n` dot products of two 4096-element vectors; one input element changes
 * between them so no product can be reused. Returns the bits of the sum. */
KERNEL_EXPORT int64_t run_dot(int32_t n) {
    n = clamp_n(n, 1, 1000000);
    uint32_t seed = 4242;
    for (int32_t i = 0; i < LEN; i++) {
        vec_a[i] = (float)(lcg_next(&seed) >> 20) * (1.0f / 4096.0f);
        vec_b[i] = (float)(lcg_next(&seed) >> 20) * (1.0f / 4096.0f) - 0.5f;
    }
    float total = 0.0f;
    for (int32_t r = 0; r < n; r++) {
        total += dot(vec_a, vec_b);
        vec_a[r % LEN] += 0.25f;
    }
    union {
        float f;
        uint32_t u;
    } bits = {total};
    return (int64_t)bits.u;
}
