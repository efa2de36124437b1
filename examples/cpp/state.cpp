// state.cpp: Faasm's state calls from C++ on a std::vector<double>: write
// the whole value, read its size, map it and update one element in place
// through the pointer, push it, read a slice at an offset, and append log
// entries (the slice covers the updated element). Every call writes the
// value afresh, so every call prints
//   "size=64 sum=28 mapped=1007 slice=5,6,1007 log=2:first,second"
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/state.cpp -o state-cpp.wasm
#include <faasm/faasm.h>

#include <numeric>
#include <sstream>
#include <string>
#include <vector>

FAASM_MAIN_FUNC() {
    const char *key = "vector";
    std::vector<double> values(8);
    std::iota(values.begin(), values.end(), 0.0);
    const long bytes = values.size() * sizeof(double);
    faasmWriteState(key, reinterpret_cast<const uint8_t *>(values.data()), bytes);
    faasmPushState(key);

    std::vector<double> back(faasmReadStateSize(key) / sizeof(double));
    faasmReadState(key, reinterpret_cast<uint8_t *>(back.data()), bytes);
    double sum = std::accumulate(back.begin(), back.end(), 0.0);

    // The mapped value is shared memory: a write through the pointer is the
    // state's new value once flagged and pushed.
    double *mapped = reinterpret_cast<double *>(faasmReadStatePtr(key, bytes));
    mapped[7] += 1000;
    faasmFlagStateDirty(key, bytes);
    faasmPushState(key);

    double slice[3];
    faasmReadStateOffset(key, bytes, 5 * sizeof(double), reinterpret_cast<uint8_t *>(slice),
                         sizeof slice);

    const char *log = "log";
    faasmClearAppendedState(log);
    faasmAppendState(log, BYTES_CONST("first,"), 6);
    faasmAppendState(log, BYTES_CONST("second"), 6);
    char entries[12];
    faasmReadAppendedState(log, reinterpret_cast<uint8_t *>(entries), sizeof entries, 2);

    double now[8];
    faasmReadState(key, reinterpret_cast<uint8_t *>(now), bytes);

    std::ostringstream out;
    out << "size=" << faasmReadStateSize(key) << " sum=" << sum << " mapped=" << now[7]
        << " slice=" << slice[0] << "," << slice[1] << "," << slice[2]
        << " log=2:" << std::string(entries, sizeof entries);
    std::string s = out.str();
    faasmSetOutput(s.c_str(), s.size());
    return 0;
}
