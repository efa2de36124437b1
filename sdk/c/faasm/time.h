/* Faasm's libfaasm timing helpers (C++), written for faasm-rs.
 * FAASM_PROF_START(v) / FAASM_PROF_END(v) time a block and print
 * "TIME: v <ms>" when built with -DWASM_PROF=1 (or natively); otherwise
 * they compile to nothing, as on Faasm. */
#ifndef FAASM_RS_TIME_H
#define FAASM_RS_TIME_H

#include <cstdio>
#include <ctime>

#if (defined(WASM_PROF) && WASM_PROF == 1) || !defined(__wasm__)
#define FAASM_PROF_START(v) std::clock_t v = std::clock();
#define FAASM_PROF_END(v)                                                                          \
    std::printf("TIME: %s %f\n", #v, (double)(std::clock() - v) * 1000.0 / CLOCKS_PER_SEC);
#else
#define FAASM_PROF_START(v)
#define FAASM_PROF_END(v)
#endif

namespace faasm {

/** Wall-clock seconds since the Unix epoch, with the fraction. */
inline double getSecondsSinceEpoch() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

} // namespace faasm

#endif
