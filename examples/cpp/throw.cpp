// throw.cpp: a C++ exception, which faasm-rs cannot unwind yet. With input
// "throw" the call ends (return code 1) and the runtime's stderr names the
// thrown type; any other input prints "no throw".
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/throw.cpp -o throw-cpp.wasm
#include <faasm/faasm.h>
#include <faasm/input.h>

#include <iostream>
#include <stdexcept>
#include <string>

int main() {
    std::string input = faasm::getStringInput("");
    if (input == "throw")
        throw std::runtime_error("the input asked for it");
    std::cout << "no throw" << std::endl;
    return 0;
}
