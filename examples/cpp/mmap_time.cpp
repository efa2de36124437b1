// mmap_time.cpp: memory and clocks from C++. Pages from Faasm's `mmap`
// host call (module env) hold a std::vector-free array, and std::chrono's
// clocks are WASI's. Output: "mmap=ok sum=2096128 steady=ok system=ok".
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/mmap_time.cpp -o mmap_time-cpp.wasm
#include <faasm/faasm.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <string>

extern "C" {
__attribute__((import_module("env"), import_name("mmap"))) void *
faasm_mmap(void *addr, size_t len, int prot, int flags, int fd, long long offset);
__attribute__((import_module("env"), import_name("munmap"))) int faasm_munmap(void *addr,
                                                                              size_t len);
}

FAASM_MAIN_FUNC() {
    const size_t n = 2048;
    auto *p = static_cast<uint32_t *>(faasm_mmap(nullptr, n * sizeof(uint32_t), 3, 0x22, -1, 0));
    if (reinterpret_cast<uintptr_t>(p) >= static_cast<uintptr_t>(-4095))
        return 1;
    bool zeroed = p[0] == 0 && p[n - 1] == 0;
    std::iota(p, p + n, 0u);
    unsigned long sum = std::accumulate(p, p + n, 0ul);
    bool unmapped = faasm_munmap(p, n * sizeof(uint32_t)) == 0;

    auto a = std::chrono::steady_clock::now();
    auto b = std::chrono::steady_clock::now();
    auto since = std::chrono::system_clock::now().time_since_epoch();
    bool steady = b >= a;
    bool system = std::chrono::duration_cast<std::chrono::seconds>(since).count() > 1600000000;

    std::string out = std::string("mmap=") + (zeroed && unmapped ? "ok" : "bad") +
                      " sum=" + std::to_string(sum) + " steady=" + (steady ? "ok" : "bad") +
                      " system=" + (system ? "ok" : "bad");
    faasmSetOutput(out.c_str(), out.size());
    return 0;
}
