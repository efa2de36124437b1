/* Faasm's libfaasm file helpers (C++), written for faasm-rs over WASI. */
#ifndef FAASM_RS_FILES_H
#define FAASM_RS_FILES_H

#include <cstdio>
#include <cstdlib>

namespace faasm {

/** The size in bytes of the file at path, or -1 if it cannot be opened. */
inline long getFileLength(const char *path) {
    std::FILE *f = std::fopen(path, "rb");
    if (!f)
        return -1;
    std::fseek(f, 0, SEEK_END);
    long len = std::ftell(f);
    std::fclose(f);
    return len;
}

/** The file at path as a new NUL-terminated string (free() it), or NULL if
 *  it cannot be read. */
inline char *readFileToString(const char *path) {
    long len = getFileLength(path);
    if (len < 0)
        return nullptr;
    std::FILE *f = std::fopen(path, "rb");
    char *buf = f ? static_cast<char *>(std::malloc((size_t)len + 1)) : nullptr;
    if (!buf) {
        if (f)
            std::fclose(f);
        return nullptr;
    }
    size_t n = std::fread(buf, 1, (size_t)len, f);
    std::fclose(f);
    buf[n] = '\0';
    return buf;
}

} // namespace faasm

#endif
