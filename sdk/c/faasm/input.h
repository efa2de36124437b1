/* Faasm's libfaasm input helpers (C++), written for faasm-rs over faasm.h:
 * the call's input as a typed value, a string, or a list of integers. */
#ifndef FAASM_RS_INPUT_H
#define FAASM_RS_INPUT_H

#include "../faasm.h"
#include <cstdlib>
#include <cstring>

namespace faasm {

/** The input's first sizeof(T) bytes as a T, or defaultValue when the call
 *  has no input. A shorter input fills only its own bytes of the result. */
template <typename T> T getTypedInput(T defaultValue) {
    if (faasmGetInputSize() == 0)
        return defaultValue;
    T value = defaultValue;
    faasmGetInput(BYTES(&value), sizeof(T));
    return value;
}

/** The input as a NUL-terminated string, or defaultValue when the call has
 *  no input. The string is allocated for the rest of the call (Faasm's
 *  callers do not free it). */
inline const char *getStringInput(const char *defaultValue) {
    long size = faasmGetInputSize();
    if (size == 0)
        return defaultValue;
    char *text = static_cast<char *>(std::malloc(size + 1));
    if (!text)
        return defaultValue;
    faasmGetInput(BYTES(text), size);
    text[size] = '\0';
    return text;
}

/** Sets the call's output to the string val (without its NUL). */
inline void setStringOutput(const char *val) { faasmSetOutput(val, (long)std::strlen(val)); }

/** The first `expected` integers of the space-separated list inStr, in a new
 *  int[expected] (missing ones are 0). */
inline int *parseStringToIntArray(const char *inStr, int expected) {
    int *out = new int[expected > 0 ? expected : 1]();
    const char *p = inStr;
    for (int i = 0; i < expected && p && *p; i++) {
        char *end = nullptr;
        long v = std::strtol(p, &end, 10);
        if (end == p)
            break;
        out[i] = (int)v;
        p = end;
    }
    return out;
}

} // namespace faasm

#endif
