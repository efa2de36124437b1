// hello.cpp: a C++ function with the SDK, `new`, the STL and iostreams.
// Prints a greeting for the input (default "world") and word statistics;
// the call's output is what it printed.
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/hello.cpp -o hello-cpp.wasm
#include <faasm/faasm.h>
#include <faasm/input.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

int main() {
    std::string input = faasm::getStringInput("world");
    std::istringstream words(input);
    std::vector<std::string> list;
    for (std::string w; words >> w;)
        list.push_back(w);
    std::map<std::string, int> counts;
    for (const auto &w : list)
        counts[w]++;
    auto longest = std::unique_ptr<std::string>(new std::string());
    for (const auto &w : list)
        if (w.size() > longest->size())
            *longest = w;
    std::sort(list.begin(), list.end());

    std::cout << "Hello, " << input << "!" << std::endl;
    std::cout << list.size() << " words, " << counts.size() << " distinct, longest "
              << *longest << std::endl;
    return 0;
}
