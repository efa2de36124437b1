/* Call-heavy recursion: naive Fibonacci (about 2.4e5 calls for n = 25)
 * plus a bounded Ackermann, which mixes deep and shallow call chains. */
#include "kernels.h"

/* noinline keeps the compilers from turning the recursion into loops or
 * memoising it: the point is the call sequence. */
__attribute__((noinline)) static int64_t fib(int32_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static int32_t ackermann(int32_t m, int32_t n) {
    if (m == 0) return n + 1;
    if (n == 0) return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

KERNEL_EXPORT int64_t run_fib(int32_t n) {
    return fib(clamp_n(n, 0, 40));
}

KERNEL_EXPORT int64_t run_ackermann(int32_t n) {
    /* A(2, n) = 2n + 3 with O(n^2) calls; depth stays about 2n. */
    int64_t sum = 0;
    for (int32_t i = 0; i < 8; i++) {
        sum += ackermann(2, clamp_n(n, 0, 2000) + i);
    }
    return sum;
}
