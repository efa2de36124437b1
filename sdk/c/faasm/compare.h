/* Faasm's libfaasm comparison helper (C++), written for faasm-rs. */
#ifndef FAASM_RS_COMPARE_H
#define FAASM_RS_COMPARE_H

#include "print.h"

namespace faasm {

/** Whether the len elements at a and b are equal; on a difference prints
 *  both arrays and the first differing index on stdout, as tests want. */
template <typename T> bool compareArrays(T *a, T *b, int len) {
    for (int i = 0; i < len; i++) {
        if (!(a[i] == b[i])) {
            std::cout << "arrays differ at index " << i << ":" << std::endl;
            printArray(a, len);
            printArray(b, len);
            return false;
        }
    }
    return true;
}

} // namespace faasm

#endif
