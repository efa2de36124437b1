/*
 * pi: a fan-out/fan-in Monte Carlo estimate of pi over chained calls.
 *
 * The driver (input "[N [NAME]]", default "10 pi") chains N calls of this
 * user's function NAME, which must be this same module, each with input
 * "worker SEED" (SEED = 1..N). A worker draws SAMPLES points in the unit
 * square from a generator seeded with SEED and outputs 4 * (points inside
 * the quarter circle) / SAMPLES. The driver awaits every worker and outputs
 * the average with 3 decimals, e.g. "3.142"; if a worker fails, it fails
 * too, with that worker's output in its own.
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/pi.c -o pi.wasm
 *   faasm-run upload demo/pi pi.wasm
 *   faasm-run invoke demo/pi --input 20           -> 3.14x
 *
 * examples/pi-rust computes exactly the same numbers; pi_ptr.c chains by
 * function pointer instead of by name.
 */
#include <faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES 200000
#define MAX_WORKERS 1000

/* splitmix64: tiny, good enough for sampling, and identical in the Rust
 * version, so both languages produce the same estimate. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1) from the top 53 bits. */
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

/* The input as a NUL-terminated string (the caller frees it). */
static char *input_string(void) {
    long size = faasmGetInputSize();
    char *text = malloc((size_t)size + 1);
    if (text == NULL)
        return NULL;
    long got = faasmGetInput((uint8_t *)text, size);
    text[got] = '\0';
    return text;
}

static int fail(const char *message) {
    faasmSetOutput((const uint8_t *)message, (long)strlen(message));
    return 1;
}

static int worker(const char *seed_text) {
    char *end;
    unsigned long long seed = strtoull(seed_text, &end, 10);
    if (end == seed_text)
        return fail("pi worker: the input must be \"worker SEED\"");
    char out[32];
    int len = snprintf(out, sizeof out, "%.9f", estimate_pi(seed));
    faasmSetOutput((const uint8_t *)out, len);
    return 0;
}

static int driver(const char *args) {
    int n = 10;
    char name[256] = "pi";
    int fields = sscanf(args, "%d %255s", &n, name);
    if (fields == 0 && args[strspn(args, " \t\r\n")] != '\0')
        return fail("pi: the input must be \"[N [NAME]]\"");
    if (n < 1 || n > MAX_WORKERS)
        return fail("pi: N must be between 1 and 1000");

    unsigned int ids[MAX_WORKERS];
    for (int i = 0; i < n; i++) {
        char input[32];
        int len = snprintf(input, sizeof input, "worker %d", i + 1);
        ids[i] = faasmChainNamed(name, (const uint8_t *)input, len);
    }

    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        long size = faasmGetCallOutputSize(ids[i]);
        char *out = malloc(size > 0 ? (size_t)size + 1 : 1);
        if (out == NULL)
            return fail("pi: out of memory");
        int rc = faasmAwaitCallOutput(ids[i], (uint8_t *)out, size > 0 ? size : 0);
        out[size > 0 ? size : 0] = '\0';
        if (rc != 0) {
            char message[512];
            snprintf(message, sizeof message, "pi: worker %d failed (%d): %s", i + 1, rc, out);
            free(out);
            return fail(message);
        }
        sum += strtod(out, NULL);
        free(out);
    }

    char result[32];
    int len = snprintf(result, sizeof result, "%.3f", sum / n);
    faasmSetOutput((const uint8_t *)result, len);
    return 0;
}

FAASM_MAIN(pi) {
    char *args = input_string();
    if (args == NULL)
        return fail("pi: out of memory");
    int rc = strncmp(args, "worker ", 7) == 0 ? worker(args + 7) : driver(args);
    free(args);
    return rc;
}
