/* An open-addressing hash table (linear probing, multiplicative hashing,
 * 2^17 slots of key + value, 1 MiB): n LCG keys inserted (n <= 3/4 of the
 * slots), then two rounds of 2n lookups, half of them keys that are
 * present and half keys that are (almost all) absent. Data-dependent
 * loads and branches: the hash-heavy kind of serverless code. Returns the
 * hit count and a sum of the values found. */
#include "kernels.h"

#define HT_BITS 17
#define HT_SLOTS (1u << HT_BITS)
#define HT_MASK (HT_SLOTS - 1u)

struct ht_slot {
    uint32_t key; /* 0: empty */
    uint32_t val;
};

static struct ht_slot ht_table[HT_SLOTS];

static inline uint32_t ht_home(uint32_t key) {
    return (key * 2654435769u) >> (32 - HT_BITS);
}

/* Inserts `key`, or adds `val` to its value when it is already there. */
static void ht_insert(uint32_t key, uint32_t val) {
    uint32_t i = ht_home(key);
    for (;;) {
        struct ht_slot *s = &ht_table[i];
        if (s->key == 0) {
            s->key = key;
            s->val = val;
            return;
        }
        if (s->key == key) {
            s->val += val;
            return;
        }
        i = (i + 1) & HT_MASK;
    }
}

/* The value stored under `key`, or 0 with *found = 0. */
static uint32_t ht_lookup(uint32_t key, uint32_t *found) {
    uint32_t i = ht_home(key);
    for (;;) {
        const struct ht_slot *s = &ht_table[i];
        if (s->key == key) {
            *found = 1;
            return s->val;
        }
        if (s->key == 0) {
            *found = 0;
            return 0;
        }
        i = (i + 1) & HT_MASK;
    }
}

static inline uint32_t nonzero_key(uint32_t *seed) {
    uint32_t k = lcg_next(seed);
    return k == 0 ? 1 : k;
}

KERNEL_EXPORT int64_t run_hashtable(int32_t n) {
    n = clamp_n(n, 1, (int32_t)(HT_SLOTS / 4 * 3));
    /* Clearing with a value that varies per slot keeps LLVM from turning
     * the loop into a call to memset (libc's natively, wasm_rt.c's byte
     * loop in wasm), which would time different code on the two sides. */
    for (uint32_t i = 0; i < HT_SLOTS; i++) {
        ht_table[i].key = 0;
        ht_table[i].val = i;
    }
    uint32_t seed = 8086;
    for (int32_t i = 0; i < n; i++) {
        ht_insert(nonzero_key(&seed), (uint32_t)i);
    }
    uint64_t hits = 0;
    uint64_t sum = 0;
    for (int round = 0; round < 2; round++) {
        uint32_t present = 8086; /* replays the inserted keys */
        uint32_t absent = 6502 + (uint32_t)round;
        for (int32_t i = 0; i < n; i++) {
            uint32_t found;
            sum += ht_lookup(nonzero_key(&present), &found);
            hits += found;
            sum += ht_lookup(nonzero_key(&absent), &found) * 3u;
            hits += found;
        }
    }
    return (int64_t)((hits << 40) ^ sum);
}
