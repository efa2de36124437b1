/*
 * mmap_time: the memory and clock calls a Faasm function uses. `mmap` and
 * `munmap` are Faasm's host calls (module env; wasi-libc has no mmap), the
 * clocks are WASI's. Output: "mmap=ok reuse=ok time=ok".
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/mmap_time.c -o mmap_time.wasm
 */
#include <faasm.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

__attribute__((import_module("env"), import_name("mmap"))) void *
faasm_mmap(void *addr, size_t len, int prot, int flags, int fd, long long offset);
__attribute__((import_module("env"), import_name("munmap"))) int faasm_munmap(void *addr,
                                                                              size_t len);

FAASM_MAIN(mmap_time) {
    const size_t len = 3 * 65536 + 10;
    uint8_t *p = faasm_mmap(NULL, len, 3, 0x22, -1, 0);
    if ((uintptr_t)p >= (uintptr_t)-4095)
        return 1;
    int zeroed = p[0] == 0 && p[len - 1] == 0;
    memset(p, 0xab, len);
    int unmapped = faasm_munmap(p, len) == 0;
    // The pages come back, zeroed again.
    uint8_t *q = faasm_mmap(NULL, len, 3, 0x22, -1, 0);
    int reused = q == p && q[0] == 0;

    struct timespec a, b, wall;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_REALTIME, &wall);
    int timeOk = wall.tv_sec > 1600000000 &&
                 (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));

    char out[64];
    int n = snprintf(out, sizeof out, "mmap=%s reuse=%s time=%s",
                     zeroed && unmapped ? "ok" : "bad", reused ? "ok" : "bad",
                     timeOk ? "ok" : "bad");
    faasmSetOutput(out, n);
    return 0;
}
