/* Hashing over an LCG-filled buffer of n KiB (<= 1024): FNV-1a (a serial
 * byte-at-a-time dependency chain) and SHA-256 (our own implementation of
 * the FIPS 180-4 compression function: 32-bit adds, rotates, table loads). */
#include "kernels.h"

#define HASH_MAX_KIB 1024

static uint8_t hash_buf[HASH_MAX_KIB * 1024];

static uint32_t fill(int32_t kib) {
    uint32_t seed = 99;
    uint32_t len = (uint32_t)kib * 1024u;
    for (uint32_t i = 0; i < len; i += 4) {
        uint32_t v = lcg_next(&seed);
        hash_buf[i] = (uint8_t)v;
        hash_buf[i + 1] = (uint8_t)(v >> 8);
        hash_buf[i + 2] = (uint8_t)(v >> 16);
        hash_buf[i + 3] = (uint8_t)(v >> 24);
    }
    return len;
}

KERNEL_EXPORT int64_t run_fnv1a(int32_t n) {
    uint32_t len = fill(clamp_n(n, 1, HASH_MAX_KIB));
    uint64_t h = 0xcbf29ce484222325ull;
    /* Several passes so the hash, not the fill, dominates. */
    for (int pass = 0; pass < 4; pass++) {
        for (uint32_t i = 0; i < len; i++) {
            h ^= hash_buf[i];
            h *= 0x100000001b3ull;
        }
    }
    return (int64_t)h;
}

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, uint32_t r) {
    return (x >> r) | (x << (32 - r));
}

static void sha256_block(uint32_t state[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
               ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + s1 + ch + sha_k[i] + w[i];
        uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = s0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

/* SHA-256 of the buffer; returns the first 8 digest bytes big-endian.
 * The buffer length is a multiple of 64, so padding is one extra block. */
KERNEL_EXPORT int64_t run_sha256(int32_t n) {
    uint32_t len = fill(clamp_n(n, 1, HASH_MAX_KIB));
    uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (uint32_t off = 0; off < len; off += 64) {
        sha256_block(state, hash_buf + off);
    }
    uint8_t pad[64];
    for (int i = 0; i < 64; i++) pad[i] = 0;
    pad[0] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) pad[63 - i] = (uint8_t)(bits >> (8 * i));
    sha256_block(state, pad);
    return (int64_t)(((uint64_t)state[0] << 32) | state[1]);
}
