/* Parallel sum with a barrier, the simd_threads benchmark's threads
 * kernel, for wasi-threads (wasm only: shared imported memory, the
 * `wasi.thread-spawn` import, our own `wasi_thread_start`).
 *
 *   psum_start(w)  spawns w persistent workers (returns w, or the negative
 *                  errno thread-spawn gave);
 *   psum_run(n)    n rounds: release the workers, sum slice 0 on the
 *                  calling thread, meet them at the barrier, add the
 *                  partial sums; returns the last round's total;
 *   psum_stop()    lets the workers return.
 * With w = 0 it is the same code on one thread. */
#include <stdint.h>

#define KERNEL_EXPORT __attribute__((visibility("default")))
#define MAX_WORKERS 7
#define STACK_SIZE 16384
#define COUNT (1 << 21)

__attribute__((import_module("wasi"), import_name("thread-spawn")))
int32_t thread_spawn(void *start_arg);

struct worker {
    int32_t index;
    _Alignas(16) char stack[STACK_SIZE];
};

static struct worker workers[MAX_WORKERS];
static uint64_t partial[MAX_WORKERS + 1];
static uint32_t values[COUNT];
static int32_t participants = 1;
static int32_t quit;
static int32_t arrived;
static int32_t generation;

/* The last of `participants` to arrive starts the next generation. */
static void barrier_wait(void) {
    int32_t gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL) == participants) {
        __atomic_store_n(&arrived, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
        __builtin_wasm_memory_atomic_notify(&generation, UINT32_MAX);
        return;
    }
    while (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) == gen) {
        __builtin_wasm_memory_atomic_wait32(&generation, gen, -1);
    }
}

static uint64_t slice_sum(int32_t index) {
    int64_t n = participants;
    int32_t lo = (int32_t)(COUNT * index / n), hi = (int32_t)(COUNT * (index + 1) / n);
    uint64_t sum = 0;
    for (int32_t i = lo; i < hi; i++) {
        uint32_t v = values[i];
        sum += (uint64_t)(v ^ (v >> 7)) * 3u;
    }
    return sum;
}

__attribute__((noinline)) static void worker_loop(int32_t index) {
    for (;;) {
        barrier_wait();
        if (__atomic_load_n(&quit, __ATOMIC_ACQUIRE)) {
            return;
        }
        partial[index] = slice_sum(index);
        barrier_wait();
    }
}

/* Without libc nothing else declares the stack pointer global for the
 * assembler. */
__asm__(".globaltype __stack_pointer, i32");

/* Switches to the worker's own stack first: nothing here uses the old one. */
KERNEL_EXPORT void wasi_thread_start(int32_t tid, void *arg) {
    (void)tid;
    struct worker *w = arg;
    char *top = w->stack + STACK_SIZE;
    __asm__ volatile("local.get %0\n\tglobal.set __stack_pointer" ::"r"(top));
    worker_loop(w->index);
}

KERNEL_EXPORT int32_t psum_start(int32_t nworkers) {
    if (nworkers < 0 || nworkers > MAX_WORKERS) {
        return -28; /* EINVAL */
    }
    uint32_t seed = 99;
    for (int32_t i = 0; i < COUNT; i++) {
        seed = seed * 1664525u + 1013904223u;
        values[i] = seed;
    }
    participants = nworkers + 1;
    for (int32_t i = 0; i < nworkers; i++) {
        workers[i].index = i + 1;
        int32_t tid = thread_spawn(&workers[i]);
        if (tid <= 0) {
            return tid;
        }
    }
    return nworkers;
}

KERNEL_EXPORT int64_t psum_run(int32_t rounds) {
    uint64_t total = 0;
    for (int32_t r = 0; r < rounds; r++) {
        barrier_wait();
        partial[0] = slice_sum(0);
        barrier_wait();
        total = 0;
        for (int32_t i = 0; i < participants; i++) {
            total += partial[i];
        }
    }
    return (int64_t)total;
}

KERNEL_EXPORT void psum_stop(void) {
    __atomic_store_n(&quit, 1, __ATOMIC_RELEASE);
    barrier_wait();
}
