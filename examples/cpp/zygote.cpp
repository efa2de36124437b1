// zygote.cpp: initialisation that runs once per function, in C++. A global
// object's constructor and the FAASM_ZYGOTE body run when the function's
// snapshot is taken, never per call: every call starts from the snapshot,
// sees both ran once and finds the zygote's table filled, and its own
// writes are gone by the next call. The zygote also appends a line to
// /zygote-cpp.log in the user's tree. Every call outputs
//   "ctor=1 zygote=1 calls=1 squares[999]=998001 names=static,call"
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/zygote.cpp -o zygote-cpp.wasm
#include <faasm/faasm.h>

#include <fstream>
#include <string>
#include <vector>

namespace {

int ctorRuns = 0;

struct Registry {
    std::vector<std::string> names;
    Registry() {
        ctorRuns++;
        names.push_back("static");
    }
};

Registry registry;

// Built on first use: the zygote is itself a constructor, and the order of
// constructors in one file is not something to rely on.
std::vector<long> &squares() {
    static std::vector<long> table;
    return table;
}
int zygoteRuns = 0;
int calls = 0;

} // namespace

FAASM_ZYGOTE() {
    zygoteRuns++;
    // How often the zygote ran, seen from outside the Faaslets.
    std::ofstream("/zygote-cpp.log", std::ios::app) << "zygote\n";
    for (long i = 0; i < 1000; i++)
        squares().push_back(i * i);
    return 0;
}

FAASM_MAIN_FUNC() {
    calls++;
    registry.names.push_back("call");
    std::string out = "ctor=" + std::to_string(ctorRuns) + " zygote=" + std::to_string(zygoteRuns) +
                      " calls=" + std::to_string(calls) +
                      " squares[999]=" + std::to_string(squares().at(999)) + " names=";
    for (size_t i = 0; i < registry.names.size(); i++)
        out += (i ? "," : "") + registry.names[i];
    faasmSetOutput(out.c_str(), out.size());
    return 0;
}
