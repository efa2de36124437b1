// echo.cpp: Faasm's echo in C++: the output is the input, byte for byte
// (an empty input gives "Nothing to echo"), read with the raw input calls
// into a std::vector.
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/echo.cpp -o echo-cpp.wasm
#include <faasm/faasm.h>

#include <string>
#include <vector>

FAASM_MAIN_FUNC() {
    std::vector<uint8_t> input(faasmGetInputSize());
    faasmGetInput(input.data(), input.size());
    if (input.empty()) {
        std::string none = "Nothing to echo";
        faasmSetOutput(none.c_str(), none.size());
        return 0;
    }
    faasmSetOutput(input.data(), input.size());
    return 0;
}
