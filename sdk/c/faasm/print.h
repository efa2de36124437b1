/* Faasm's libfaasm printing helper (C++), written for faasm-rs. */
#ifndef FAASM_RS_PRINT_H
#define FAASM_RS_PRINT_H

#include <cstddef>
#include <iostream>

namespace faasm {

/** Prints the size elements at data on stdout as `[a, b, c]` and a newline. */
template <typename T> void printArray(T *data, size_t size) {
    std::cout << "[";
    for (size_t i = 0; i < size; i++)
        std::cout << (i ? ", " : "") << data[i];
    std::cout << "]" << std::endl;
}

} // namespace faasm

#endif
