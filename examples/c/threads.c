// A multi-threaded guest for wasi-threads: a parallel sum with a barrier.
//
//   threads [N]   sums 1..=1000000 (as 64-bit) with N worker threads
//                 (default 4) and prints the checked result.
//
// Debian 12's wasi-libc has no pthreads (no wasm32-wasi-threads sysroot),
// so this uses what pthreads is built on directly: the wasi-threads import
// `wasi.thread-spawn`, our own `wasi_thread_start` export that gives each
// thread its own stack, and the wasm atomics (`__atomic_*` builtins,
// `memory.atomic.wait32` / `notify`) for the barrier. Build (see
// tests/threads.rs):
//
//   clang --target=wasm32-wasi -mexec-model=reactor -O2 -matomics -mbulk-memory \
//     threads.c -Wl,--shared-memory,--import-memory,--max-memory=8388608,--no-check-features
//
// `--no-check-features`: the libc objects were built without atomics. That
// is fine here because only the main thread calls into libc (printf,
// strtol); workers touch nothing but their slice, their partial sum and
// the barrier.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 16
#define STACK_SIZE 16384
#define COUNT 1000000

__attribute__((import_module("wasi"), import_name("thread-spawn")))
int32_t thread_spawn(void *start_arg);

struct worker {
    int index;
    int nthreads;
    uint64_t partial;
    _Alignas(16) char stack[STACK_SIZE];
};

static struct worker workers[MAX_THREADS];
static uint32_t values[COUNT];

// A reusable barrier for `total` participants: the last to arrive bumps
// the generation and wakes everyone waiting on it.
static int32_t arrived;
static int32_t generation;

static void barrier_wait(int32_t total) {
    int32_t gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL) == total) {
        __atomic_store_n(&arrived, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
        __builtin_wasm_memory_atomic_notify(&generation, UINT32_MAX);
        return;
    }
    while (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) == gen) {
        // Returns at once if the generation already moved on.
        __builtin_wasm_memory_atomic_wait32(&generation, gen, -1);
    }
}

__attribute__((noinline)) static void work(struct worker *w) {
    int n = w->nthreads;
    int lo = (int)((int64_t)COUNT * w->index / n);
    int hi = (int)((int64_t)COUNT * (w->index + 1) / n);
    uint64_t sum = 0;
    for (int i = lo; i < hi; i++) {
        sum += values[i];
    }
    w->partial = sum;
    barrier_wait(n + 1);
}

// Runs first in every new thread, on whatever `__stack_pointer` the new
// instance starts with (the main thread's initial one): switch to this
// worker's own stack before any code can use it. No locals live in memory
// here, so nothing touches the old stack.
__attribute__((export_name("wasi_thread_start"))) void wasi_thread_start(int32_t tid,
                                                                         void *arg) {
    (void)tid;
    struct worker *w = arg;
    char *top = w->stack + STACK_SIZE;
    __asm__ volatile("local.get %0\n\tglobal.set __stack_pointer" ::"r"(top));
    work(w);
}

// Built as a WASI reactor (-mexec-model=reactor) with this `_start` of our
// own: in the command model wasm-ld wraps *every* export, so
// `wasi_thread_start` would rerun libc's constructors in each thread and,
// when the thread ends, its destructors, which flush the main thread's
// stdout buffer (printing it twice). Here only the main thread does both.
extern void __wasm_call_ctors(void);
extern int __main_void(void);

__attribute__((export_name("_start"))) void _start(void) {
    __wasm_call_ctors();
    exit(__main_void());
}

int main(int argc, char **argv) {
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 4;
    if (n < 1 || n > MAX_THREADS) {
        fprintf(stderr, "threads: N must be 1..%d\n", MAX_THREADS);
        return 2;
    }
    for (int i = 0; i < COUNT; i++) {
        values[i] = (uint32_t)(i + 1);
    }
    for (int i = 0; i < n; i++) {
        workers[i].index = i;
        workers[i].nthreads = n;
        int32_t tid = thread_spawn(&workers[i]);
        if (tid <= 0) {
            fprintf(stderr, "threads: thread-spawn failed: %d\n", (int)tid);
            return 1;
        }
    }
    // The workers' partial sums are written before they reach the barrier.
    barrier_wait(n + 1);
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        sum += workers[i].partial;
    }
    uint64_t expected = (uint64_t)COUNT * (COUNT + 1) / 2;
    printf("sum of 1..%d with %d threads = %llu (%s)\n", COUNT, n, (unsigned long long)sum,
           sum == expected ? "ok" : "WRONG");
    return sum == expected ? 0 : 1;
}
