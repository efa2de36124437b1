/* Faasm's libfaasm random helpers (C++), written for faasm-rs. The numbers
 * come from one generator per module, seeded from WASI's random_get. */
#ifndef FAASM_RS_RANDOM_H
#define FAASM_RS_RANDOM_H

#include <cstddef>
#include <random>
#include <string>

namespace faasm {

/** The module's generator (inline: one for all translation units). */
inline std::mt19937 &randomEngine() {
    static std::mt19937 engine{std::random_device{}()};
    return engine;
}

/** A uniform integer in [iStart, iEnd], both ends included. */
inline int randomInteger(int iStart, int iEnd) {
    return std::uniform_int_distribution<int>(iStart, iEnd)(randomEngine());
}

/** A uniform float in [0, 1). */
inline float randomFloat() {
    return std::uniform_real_distribution<float>(0.0f, 1.0f)(randomEngine());
}

/** Shuffles the arrayLen ints at arrayIn in place. */
inline void shuffleArray(int *arrayIn, size_t arrayLen) {
    for (size_t i = arrayLen; i > 1; i--) {
        size_t j = (size_t)randomInteger(0, (int)(i - 1));
        int t = arrayIn[i - 1];
        arrayIn[i - 1] = arrayIn[j];
        arrayIn[j] = t;
    }
}

/** 0 .. rangeLen-1 in random order, in a new int[rangeLen]. */
inline int *randomIntRange(int rangeLen) {
    int *out = new int[rangeLen > 0 ? rangeLen : 1];
    for (int i = 0; i < rangeLen; i++)
        out[i] = i;
    shuffleArray(out, rangeLen > 0 ? (size_t)rangeLen : 0);
    return out;
}

/** len random letters and digits. */
inline std::string randomString(int len) {
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string s;
    for (int i = 0; i < len; i++)
        s += chars[randomInteger(0, (int)sizeof chars - 2)];
    return s;
}

} // namespace faasm

#endif
