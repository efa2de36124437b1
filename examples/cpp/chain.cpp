// chain.cpp: Faasm's C++ chaining idioms, as Faasm's own tests write them:
// chained functions set `std::string` outputs with a `const char *`, the
// caller takes them with faasmAwaitCallOutput(id, &buf, &len).
// Output: "A=expected A B=longer expected B".
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/chain.cpp -o chain-cpp.wasm
#include <faasm/faasm.h>

#include <string>

int otherA() {
    std::string out = "expected A";
    faasmSetOutput(out.c_str(), out.size());
    return 0;
}

int otherB() {
    std::string out = "longer expected B";
    faasmSetOutput(out.c_str(), out.size());
    return 0;
}

FAASM_MAIN_FUNC() {
    unsigned int a = faasmChain(otherA, nullptr, 0);
    unsigned int b = faasmChain(otherB, nullptr, 0);
    char *bufA;
    int lenA;
    char *bufB;
    int lenB;
    unsigned int resA = faasmAwaitCallOutput(a, &bufA, &lenA);
    unsigned int resB = faasmAwaitCallOutput(b, &bufB, &lenB);
    if (resA != 0 || resB != 0)
        return 1;
    std::string out = "A=" + std::string(bufA, lenA) + " B=" + std::string(bufB, lenB);
    faasmSetOutput(out.c_str(), out.size());
    return 0;
}
