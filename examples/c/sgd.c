/*
 * sgd: parallel Hogwild SGD for sparse logistic regression, the workload
 * behind `faasm-run demo sgd`. One module holds the driver (FAASM_MAIN) and
 * the worker (FAASM_FUNC, chained by pointer), so one upload is enough.
 *
 * State (all little-endian, 4-byte aligned):
 *   "sgd_data"     labels float[S] (+1/-1), then indices uint32[S*K], then
 *                  values float[S*K]: S samples with K non-zeros each
 *   "sgd_weights"  float[F]
 *
 * Two ways of reaching that state, chosen per call by MODE:
 *   s (shared)  every worker maps data and weights into its own memory with
 *               faasmReadStatePtr and updates the weights in place: all
 *               workers of a host write the same pages (Hogwild), nothing is
 *               copied, and the weights are pushed to the global tier once
 *               at the end;
 *   c (copy)    every worker copies the weights and its shard of the data
 *               into buffers of its own (faasmReadState/Offset), trains on
 *               the copy, then merges its change back under the weights'
 *               write lock (read, add, faasmWriteState, which also pushes to
 *               the global tier): copy-in/copy-out, what a platform without
 *               shared memory forces.
 *
 * Inputs (text):
 *   setup MODE SEED S F K            writes the data set (made from SEED) and
 *                                    zero weights; output "ok BYTES"
 *   train MODE N E LR S F K          runs E epochs of N workers, then one
 *                                    evaluation round; output lines
 *                                    "epoch_loss L1 .. LE", "final_loss X",
 *                                    "weights_norm X" (the driver's view)
 *   worker input (chained):  MODE PHASE I N LR S F K  with PHASE t (train)
 *                                    or e (evaluate); output "SUM COUNT",
 *                                    the loss summed over worker I's shard
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/sgd.c -o sgd.wasm
 */
#include <faasm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_DATA "sgd_data"
#define KEY_WEIGHTS "sgd_weights"
#define MAX_WORKERS 1024

/* Sizes of one run; every call gets them in its input. */
struct shape {
    uint32_t samples, features, nnz;
};

static uint32_t data_bytes(struct shape s) { return 4 * s.samples + 8 * s.samples * s.nnz; }

static int fail(const char *message) {
    faasmSetOutput((const uint8_t *)message, (long)strlen(message));
    return 1;
}

/* The call's input as a NUL-terminated string (inputs here are short). */
static void input_text(char *text, long cap) {
    long got = faasmGetInput((uint8_t *)text, cap - 1);
    text[got < 0 ? 0 : got] = '\0';
}

/* splitmix64: small, seedable, the same on every platform. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state) {
    return (double)(next_random(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* log(1 + exp(-m)) without overflow for either sign of m. */
static double logistic_loss(double margin) {
    return margin > 0 ? log1p(exp(-margin)) : -margin + log1p(exp(margin));
}

/* The data set: a hidden weight vector in [-1, 1), samples with K random
 * features valued in [0, 1), labelled by the sign of the hidden margin plus
 * a little noise, so the problem is learnable but not separable. */
static void generate(uint64_t seed, struct shape s, uint8_t *out, float *hidden) {
    uint64_t rng = seed;
    for (uint32_t j = 0; j < s.features; j++)
        hidden[j] = (float)(2.0 * next_unit(&rng) - 1.0);
    float *labels = (float *)out;
    uint32_t *idx = (uint32_t *)(out + 4 * s.samples);
    float *val = (float *)(out + 4 * s.samples + 4 * s.samples * s.nnz);
    for (uint32_t i = 0; i < s.samples; i++) {
        double margin = 0;
        for (uint32_t k = 0; k < s.nnz; k++) {
            uint32_t j = (uint32_t)(next_random(&rng) % s.features);
            float x = (float)next_unit(&rng);
            idx[i * s.nnz + k] = j;
            val[i * s.nnz + k] = x;
            margin += hidden[j] * x;
        }
        margin += 0.2 * (next_unit(&rng) - 0.5);
        labels[i] = margin >= 0 ? 1.0f : -1.0f;
    }
}

/* One pass over samples [0, n) of a shard (labels, indices and values of
 * those samples only). Training updates `w` in place; `delta`, if given,
 * receives the same updates (copy mode merges it back). Returns the loss
 * summed over the shard, each sample's loss taken before its own update. */
static double pass(float *w, float *delta, const float *labels, const uint32_t *idx,
                   const float *val, uint32_t n, uint32_t nnz, double lr, int train) {
    double total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t *ix = idx + (size_t)i * nnz;
        const float *vx = val + (size_t)i * nnz;
        double margin = 0;
        for (uint32_t k = 0; k < nnz; k++)
            margin += w[ix[k]] * vx[k];
        margin *= labels[i];
        total += logistic_loss(margin);
        if (!train)
            continue;
        /* d loss / d w_j = -y x_j sigmoid(-margin) */
        float step = (float)(lr * labels[i] / (1.0 + exp(margin)));
        for (uint32_t k = 0; k < nnz; k++) {
            float d = step * vx[k];
            w[ix[k]] += d;
            if (delta)
                delta[ix[k]] += d;
        }
    }
    return total;
}

/* Worker i of n covers samples [lo, hi). */
static void shard(uint32_t samples, int i, int n, uint32_t *lo, uint32_t *hi) {
    *lo = (uint32_t)((uint64_t)samples * i / n);
    *hi = (uint32_t)((uint64_t)samples * (i + 1) / n);
}

static double worker_shared(struct shape s, uint32_t lo, uint32_t hi, double lr, int train) {
    /* Both regions are the state's own pages, mapped: no copy, and every
     * worker's updates land in the one weight vector. */
    float *w = (float *)faasmReadStatePtr(KEY_WEIGHTS, 4 * s.features);
    uint8_t *data = faasmReadStatePtr(KEY_DATA, data_bytes(s));
    const float *labels = (const float *)data;
    const uint32_t *idx = (const uint32_t *)(data + 4 * s.samples);
    const float *val = (const float *)(data + 4 * s.samples + 4 * s.samples * s.nnz);
    return pass(w, NULL, labels + lo, idx + (size_t)lo * s.nnz, val + (size_t)lo * s.nnz,
                hi - lo, s.nnz, lr, train);
}

/* Returns -1 (and sets the output) if memory runs out. */
static double worker_copy(struct shape s, uint32_t lo, uint32_t hi, double lr, int train) {
    uint32_t n = hi - lo, total = data_bytes(s);
    size_t wbytes = 4 * (size_t)s.features;
    float *w = malloc(wbytes);
    float *delta = train ? calloc(s.features, 4) : NULL;
    float *labels = malloc(4 * (size_t)n + 1);
    uint32_t *idx = malloc(4 * (size_t)n * s.nnz + 1);
    float *val = malloc(4 * (size_t)n * s.nnz + 1);
    if (!w || (train && !delta) || !labels || !idx || !val) {
        fail("sgd worker: out of memory");
        return -1;
    }
    /* Copy-in: the whole weight vector and this shard's part of the data. */
    faasmReadState(KEY_WEIGHTS, (uint8_t *)w, (long)wbytes);
    faasmReadStateOffset(KEY_DATA, total, 4 * lo, (uint8_t *)labels, 4 * n);
    faasmReadStateOffset(KEY_DATA, total, 4 * s.samples + 4 * lo * s.nnz, (uint8_t *)idx,
                         4 * n * s.nnz);
    faasmReadStateOffset(KEY_DATA, total, 4 * s.samples + 4 * s.samples * s.nnz + 4 * lo * s.nnz,
                         (uint8_t *)val, 4 * n * s.nnz);
    double loss = pass(w, delta, labels, idx, val, n, s.nnz, lr, train);
    if (train) {
        /* Copy-out: others merged since our copy-in, so add our change to
         * the current value rather than overwrite theirs. */
        faasmLockStateWrite(KEY_WEIGHTS);
        faasmReadState(KEY_WEIGHTS, (uint8_t *)w, (long)wbytes);
        for (uint32_t j = 0; j < s.features; j++)
            w[j] += delta[j];
        faasmWriteState(KEY_WEIGHTS, (const uint8_t *)w, (long)wbytes);
        faasmUnlockStateWrite(KEY_WEIGHTS);
    }
    free(w);
    free(delta);
    free(labels);
    free(idx);
    free(val);
    return loss;
}

FAASM_FUNC(sgd_worker, 1) {
    char text[256];
    input_text(text, sizeof text);
    char mode, phase;
    int i, n;
    double lr;
    struct shape s;
    if (sscanf(text, " %c %c %d %d %lf %u %u %u", &mode, &phase, &i, &n, &lr, &s.samples,
               &s.features, &s.nnz) != 8)
        return fail("sgd worker: bad input");
    uint32_t lo, hi;
    shard(s.samples, i, n, &lo, &hi);
    int train = phase == 't';
    double loss = mode == 's' ? worker_shared(s, lo, hi, lr, train)
                              : worker_copy(s, lo, hi, lr, train);
    if (loss < 0)
        return 1;
    char out[64];
    int len = snprintf(out, sizeof out, "%.17g %u", loss, hi - lo);
    faasmSetOutput((const uint8_t *)out, len);
    return 0;
}

static int setup(const char *args) {
    char mode;
    unsigned long long seed;
    struct shape s;
    if (sscanf(args, " %c %llu %u %u %u", &mode, &seed, &s.samples, &s.features, &s.nnz) != 5)
        return fail("sgd setup: expected MODE SEED SAMPLES FEATURES NNZ");
    uint8_t *data = malloc(data_bytes(s));
    float *hidden = malloc(4 * (size_t)s.features);
    float *zeros = calloc(s.features, 4);
    if (!data || !hidden || !zeros)
        return fail("sgd setup: out of memory");
    generate(seed, s, data, hidden);
    /* Written once, in both modes alike (setup is not what is compared):
     * replacing whole values also drops what an earlier run left. */
    faasmWriteState(KEY_DATA, data, data_bytes(s));
    faasmWriteState(KEY_WEIGHTS, (const uint8_t *)zeros, 4 * (long)s.features);
    char out[32];
    int len = snprintf(out, sizeof out, "ok %u", data_bytes(s));
    faasmSetOutput((const uint8_t *)out, len);
    return 0;
}

/* Runs one round: n workers in `phase`; the mean loss, or -1 on failure
 * (the output then says which worker failed and why). */
static double round_of(char mode, char phase, int n, double lr, struct shape s) {
    static unsigned int ids[MAX_WORKERS];
    for (int i = 0; i < n; i++) {
        char in[128];
        int len = snprintf(in, sizeof in, "%c %c %d %d %.17g %u %u %u", mode, phase, i, n, lr,
                           s.samples, s.features, s.nnz);
        ids[i] = faasmChain(sgd_worker, (const uint8_t *)in, len);
    }
    double sum = 0;
    unsigned long long count = 0;
    for (int i = 0; i < n; i++) {
        char out[256] = {0};
        int rc = faasmAwaitCallOutput(ids[i], (uint8_t *)out, sizeof out - 1);
        double part;
        unsigned int got;
        if (rc != 0 || sscanf(out, "%lf %u", &part, &got) != 2) {
            char message[384];
            snprintf(message, sizeof message, "sgd: worker %d failed (%d): %s", i, rc, out);
            fail(message);
            return -1;
        }
        sum += part;
        count += got;
    }
    return count ? sum / (double)count : 0;
}

static int train(const char *args) {
    char mode;
    int n, epochs;
    double lr;
    struct shape s;
    if (sscanf(args, " %c %d %d %lf %u %u %u", &mode, &n, &epochs, &lr, &s.samples, &s.features,
               &s.nnz) != 7 ||
        (mode != 's' && mode != 'c'))
        return fail("sgd train: expected MODE(s|c) WORKERS EPOCHS LR SAMPLES FEATURES NNZ");
    if (n < 1 || n > MAX_WORKERS || epochs < 1 || epochs > 1000)
        return fail("sgd train: WORKERS must be 1..1024 and EPOCHS 1..1000");

    /* Shared: the driver maps the weights too and never pulls them, so what
     * it reads at the end shows the workers' writes reached it directly. */
    float *w = NULL;
    if (mode == 's') {
        w = (float *)faasmReadStatePtr(KEY_WEIGHTS, 4 * s.features);
        faasmReadStatePtr(KEY_DATA, data_bytes(s));
    }

    char out[16384];
    int len = snprintf(out, sizeof out, "epoch_loss");
    for (int e = 0; e < epochs; e++) {
        double loss = round_of(mode, 't', n, lr, s);
        if (loss < 0)
            return 1;
        if (len < (int)sizeof out - 64)
            len += snprintf(out + len, sizeof out - len, " %.9g", loss);
    }
    double final_loss = round_of(mode, 'e', n, lr, s);
    if (final_loss < 0)
        return 1;

    float *view = w;
    if (mode == 'c') {
        view = malloc(4 * (size_t)s.features);
        if (!view)
            return fail("sgd train: out of memory");
        faasmReadState(KEY_WEIGHTS, (uint8_t *)view, 4 * (long)s.features);
    }
    double norm = 0;
    for (uint32_t j = 0; j < s.features; j++)
        norm += (double)view[j] * view[j];
    /* Copy mode pushed with every merge (faasmWriteState); shared mode
     * pushes the mapped weights to the global tier once, here. */
    if (mode == 's')
        faasmPushState(KEY_WEIGHTS);

    len += snprintf(out + len, sizeof out - len, "\nfinal_loss %.9g\nweights_norm %.9g\n",
                    final_loss, sqrt(norm));
    faasmSetOutput((const uint8_t *)out, len);
    return 0;
}

FAASM_MAIN(sgd) {
    char text[256];
    input_text(text, sizeof text);
    if (strncmp(text, "setup ", 6) == 0)
        return setup(text + 6);
    if (strncmp(text, "train ", 6) == 0)
        return train(text + 6);
    return fail("sgd: input must start with \"setup \" or \"train \"");
}
