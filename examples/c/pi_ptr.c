/*
 * pi_ptr: pi.c's Monte Carlo estimate, fanned out by function pointer
 * (faasmChain) instead of by name: each worker is pi_worker below, run in a
 * fresh instance of this module, so no second upload or name is involved.
 * Input "[N]" (default 10); output the average of the N estimates with 3
 * decimals, the same number pi.c and pi-rust print for the same N.
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/pi_ptr.c -o pi_ptr.wasm
 *   faasm-run upload demo/pi_ptr pi_ptr.wasm
 *   faasm-run invoke demo/pi_ptr --input 20       -> 3.14x
 */
#include <faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES 200000
#define MAX_WORKERS 1000

/* splitmix64, as in pi.c (kept in step so the results match). */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state) {
    return (double)(next_random(state) >> 11) * (1.0 / 9007199254740992.0);
}

static double estimate_pi(uint64_t seed) {
    uint64_t state = seed;
    long inside = 0;
    for (long i = 0; i < SAMPLES; i++) {
        double x = next_unit(&state), y = next_unit(&state);
        if (x * x + y * y < 1.0)
            inside++;
    }
    return 4.0 * (double)inside / SAMPLES;
}

/* At most 20 digits plus NUL: seeds and counts are small. */
static void input_text(char *text, long cap) {
    long got = faasmGetInput((uint8_t *)text, cap - 1);
    text[got] = '\0';
}

static int fail(const char *message) {
    faasmSetOutput((const uint8_t *)message, (long)strlen(message));
    return 1;
}

/* Chained by pointer: input "SEED", output the estimate. */
FAASM_FUNC(pi_worker, 1) {
    char text[32];
    input_text(text, sizeof text);
    char *end;
    unsigned long long seed = strtoull(text, &end, 10);
    if (end == text)
        return fail("pi_worker: the input must be a seed");
    char out[32];
    int len = snprintf(out, sizeof out, "%.9f", estimate_pi(seed));
    faasmSetOutput((const uint8_t *)out, len);
    return 0;
}

FAASM_MAIN(pi_ptr) {
    char text[32];
    input_text(text, sizeof text);
    int n = 10;
    if (text[strspn(text, " \t\r\n")] != '\0' && sscanf(text, "%d", &n) != 1)
        return fail("pi_ptr: the input must be \"[N]\"");
    if (n < 1 || n > MAX_WORKERS)
        return fail("pi_ptr: N must be between 1 and 1000");

    unsigned int ids[MAX_WORKERS];
    for (int i = 0; i < n; i++) {
        char seed[16];
        int len = snprintf(seed, sizeof seed, "%d", i + 1);
        ids[i] = faasmChain(pi_worker, (const uint8_t *)seed, len);
    }

    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        char out[64] = {0};
        int rc = faasmAwaitCallOutput(ids[i], (uint8_t *)out, sizeof out - 1);
        if (rc != 0) {
            char message[128];
            snprintf(message, sizeof message, "pi_ptr: worker %d failed (%d): %s", i + 1, rc, out);
            return fail(message);
        }
        sum += strtod(out, NULL);
    }

    char result[32];
    int len = snprintf(result, sizeof result, "%.3f", sum / n);
    faasmSetOutput((const uint8_t *)result, len);
    return 0;
}
